# The README's commands. CI runs `make test` (through .ci/run) on a clean clone.
VENV ?= .venv
PY := $(VENV)/bin/python
SHARED ?= ../shared/data

.PHONY: install browser test demo serve corpus default-model evaluation bench clean

install: $(VENV)/.installed

# torch first and pinned, then the locked environment without dependency resolution: mediapipe's
# declared extras (jax, GUI OpenCV) are not needed by its pose solution. TORCH_INDEX is where torch
# comes from: empty, pip's own configuration (here, a CPU build on this machine); on a machine
# where PyPI would send the CUDA build, make install TORCH_INDEX="--index-url https://download.pytorch.org/whl/cpu".
TORCH_INDEX ?=
$(VENV)/.installed: requirements.lock pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0 $(TORCH_INDEX)
	$(PY) -m pip install -q --no-deps -r requirements.lock
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

# The main job: a new dance by the embedded default model, written to ./bopbot-demo/.
demo: install
	$(VENV)/bin/bopbot demo -o bopbot-demo

# The web page on http://127.0.0.1:7860 (Ctrl-C stops it).
serve: install
	$(VENV)/bin/bopbot serve

# The browser tests' headless Chromium and its driver, from Debian, where this machine lets us
# install packages (root with apt-get); elsewhere, or if that fails, those tests skip, saying so.
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's chromium and chromium-driver for the browser tests"; \
	  (timeout 600 apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq \
	    chromium chromium-driver >/dev/null) || echo "chromium could not be installed: the browser tests will skip"; \
	else echo "no chromium: the browser tests will skip (apt-get install chromium chromium-driver)"; fi

# pytest's exit 5 ("no tests collected") counts as a failure, never as a pass.
test: install browser
	@$(PY) -m pytest; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected: failing"; exit 1; fi; exit $$rc

# The whole of ../shared/data as one corpus: the clips, and the mocap seen from 8 yaws, mirrored.
corpus: install
	$(VENV)/bin/bopbot extract $(SHARED)/videos $(SHARED)/mocap $(SHARED)/openpose -o corpus --yaws 0,45,90,135,180,225,270,315 --mirror

# Rebuilds the embedded default model from ../shared/data with BopBot's own verbs: the training
# inputs (held-out takes listed in training/holdout_inputs.txt stay out), the mocap filmed by cameras
# that follow the dancer from 5 yaws within 45 degrees of the front, mirrored (the views a phone
# films, in whole takes; docs/sweeps.md has the measurements), a 1,024-word vocabulary, the word
# decoder (words back into movement), the GPT-2 (and the one that hears the music, trained on the
# same corpus with the takes that have a song played on its beat), its travel model (which reads the
# decoder's movement) and the LSTM with their default sizes and settings, the n-gram and nearest
# baselines, and a primer from a held-out take.
MODEL := src/bopbot/default_model
TRAIN_YAWS := 315,340,0,20,45
TRAIN_CORPUS := build/train-corpus
default-model: install
	rm -rf $(TRAIN_CORPUS) $(MODEL)/checkpoint $(MODEL)/music $(MODEL)/*.safetensors $(MODEL)/*.json
	$(VENV)/bin/bopbot extract training/train_inputs.txt -o $(TRAIN_CORPUS) --yaws $(TRAIN_YAWS) --mirror --follow
	$(VENV)/bin/bopbot vocab $(TRAIN_CORPUS) -k 1024 --max-training-frames 262144 -o $(MODEL)
	$(VENV)/bin/bopbot train $(TRAIN_CORPUS) --model $(MODEL) --decoder
	$(VENV)/bin/bopbot train $(TRAIN_CORPUS) --model $(MODEL) --steps 3000
	$(VENV)/bin/bopbot train $(TRAIN_CORPUS) --model $(MODEL) --generator gpt2-music --steps 3000
	$(VENV)/bin/bopbot train $(TRAIN_CORPUS) --model $(MODEL) --travel
	$(VENV)/bin/bopbot train $(TRAIN_CORPUS) --model $(MODEL) --generator lstm
	$(VENV)/bin/bopbot train $(TRAIN_CORPUS) --model $(MODEL) --generator ngram
	$(VENV)/bin/bopbot train $(TRAIN_CORPUS) --model $(MODEL) --generator nearest
	rm -rf $(MODEL)/checkpoint $(MODEL)/music/checkpoint $(MODEL)/lstm-checkpoint
	$(VENV)/bin/bopbot tokens $(SHARED)/mocap/cmu_salsa/60_13_scaled.bvh --model $(MODEL) --seconds 4 --set-primer > /dev/null

# docs/evaluation.md's tables, every generator of the default model on the held-out inputs.
# The main one is where users are: the held-out phone clips, and the held-out mocap filmed by cameras
# that follow the dancer from the front and 30 degrees either side, scored against the training
# corpus's own views (its training split is the pool, its validation split the floor). The second
# one films the held-out mocap from every side (0, 90, 180, 270 degrees, cameras standing still)
# against a pool of the training inputs seen the same way: views the model never learned.
ALL_YAWS := 0,45,90,135,180,225,270,315
evaluation: install
	test -d $(TRAIN_CORPUS) || $(VENV)/bin/bopbot extract training/train_inputs.txt -o $(TRAIN_CORPUS) --yaws $(TRAIN_YAWS) --mirror --follow
	$(VENV)/bin/bopbot evaluate training/holdout_inputs.txt --corpus $(TRAIN_CORPUS) --follow --yaws 330,0,30 -o docs/evaluation
	test -d build/reference-corpus || $(VENV)/bin/bopbot extract training/train_inputs.txt -o build/reference-corpus --yaws $(ALL_YAWS) --mirror
	$(VENV)/bin/bopbot evaluate training/holdout_inputs.txt --corpus build/reference-corpus -o docs/evaluation/all-views

bench: install
	$(PY) benchmarks/extract.py
	$(PY) benchmarks/vocabulary.py
	$(PY) benchmarks/generation.py
	$(PY) benchmarks/dance.py
	$(PY) benchmarks/music_cost.py

clean:
	rm -rf $(VENV) corpus build bopbot-demo
