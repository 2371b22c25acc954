# The README's commands. CI runs `make test` (through .ci/run) on a clean clone.
VENV ?= .venv
PY := $(VENV)/bin/python
SHARED ?= ../shared/data

.PHONY: install test corpus bench clean

install: $(VENV)/.installed

# torch first and pinned (a CPU build), then the locked environment without dependency
# resolution: mediapipe's declared extras (jax, GUI OpenCV) are not needed by its pose solution.
$(VENV)/.installed: requirements.lock pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q --no-deps -r requirements.lock
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

# pytest's exit 5 ("no tests collected") counts as a failure, never as a pass.
test: install
	@$(PY) -m pytest; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected: failing"; exit 1; fi; exit $$rc

# The whole of ../shared/data as one corpus: the clips, and the mocap seen from 8 yaws, mirrored.
corpus: install
	$(VENV)/bin/bopbot extract $(SHARED)/videos $(SHARED)/mocap $(SHARED)/openpose -o corpus --yaws 0,45,90,135,180,225,270,315 --mirror

bench: install
	$(PY) benchmarks/extract.py

clean:
	rm -rf $(VENV) corpus
