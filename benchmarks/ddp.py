"""GPT-2 training throughput: one process against `torchrun` with 2 (DistributedDataParallel, gloo).

Both train the default GPT-2 size with the embedded model's vocabulary on the same corpus (the
Tang 2018 takes from the front, built here first) for `--steps` steps with the same global batch,
in turns, `--repeat` times each. The figure is words per second of the training loop as
`training.json` records it (encoding the corpus is outside the clock), best and worst run.
Run: .venv/bin/python benchmarks/ddp.py [--steps 30] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bopbot.ingest.build_corpus import build_corpus
from bopbot.models.model_folder import DEFAULT_MODEL, PIPELINE_FILE
from bopbot.vocabulary.vocabulary import FILENAME

TANG = Path(__file__).resolve().parents[2] / "shared" / "data" / "mocap" / "tang2018"


def train_rate(corpus: Path, processes: int, steps: int) -> float:
    """Words per second of one training run from scratch."""
    with tempfile.TemporaryDirectory() as folder:
        for name in (FILENAME, PIPELINE_FILE):
            shutil.copy(DEFAULT_MODEL / name, Path(folder) / name)
        launch = [sys.executable, "-m", "bopbot"] if processes == 1 else [
            sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes),
            "-m", "bopbot"]
        run = subprocess.run(launch + ["train", str(corpus), "--model", folder, "--steps", str(steps),
                                       "--eval-every", str(steps), "--device", "cpu", "-q"],
                             capture_output=True, text=True)
        if run.returncode:
            raise SystemExit(run.stderr)
        return json.loads((Path(folder) / "training.json").read_text())["tokens_per_second"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        corpus = Path(folder) / "corpus"
        build_corpus(sorted(p for p in TANG.iterdir() if p.is_dir()), corpus, progress=False)
        rates: dict[int, list[float]] = {1: [], 2: []}
        for _ in range(args.repeat):
            for processes in rates:
                rates[processes].append(train_rate(corpus, processes, args.steps))
    print(f"GPT-2 training, {args.steps} steps of 16 x 256 words, {args.repeat} runs each, words/s:")
    print(f"{'':22}{'best':>8}{'worst':>8}{'against one':>13}")
    for processes, values in rates.items():
        print(f"{f'{processes} process(es)':22}{max(values):8.0f}{min(values):8.0f}{max(values) / max(rates[1]):12.2f}x")


if __name__ == "__main__":
    main()
