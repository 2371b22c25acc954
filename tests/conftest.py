"""Shared fixtures: the real dance data beside the project, skipped with a reason where absent."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def data() -> Path:
    """`../shared/data`, or a skip saying it is absent (as on a user's machine)."""
    if not DATA.is_dir():
        pytest.skip(f"real dance data not found at {DATA} (only developers and CI have it)")
    return DATA


@pytest.fixture(scope="session")
def small_corpus(data, tmp_path_factory) -> Path:
    """A real corpus: three Tang takes (one per dance style) seen from two yaws, mirrored."""
    from bopbot.ingest.build_corpus import build_corpus
    from bopbot.ingest.extract import ExtractOptions

    folder = tmp_path_factory.mktemp("corpus")
    takes = [data / "mocap" / "tang2018" / name for name in ("DANCE_C_2", "DANCE_R_2", "DANCE_W_1", "DANCE_C_4")]
    report = build_corpus(takes, folder, ExtractOptions(yaws=(0.0, 90.0), mirror=True), jobs=2, progress=False)
    assert not report.failed
    return folder


@pytest.fixture(scope="session")
def tiny_model(small_corpus, tmp_path_factory) -> Path:
    """A model folder trained by BopBot's own verbs on the small corpus: 64 words, a tiny GPT-2, every
    generator (the music-aware GPT-2 too), the word decoder and the travel model."""
    from bopbot.app.cli import main

    folder = tmp_path_factory.mktemp("model")
    assert main(["vocab", str(small_corpus), "-k", "64", "-o", str(folder), "-q"]) == 0
    assert main(["train", str(small_corpus), "--model", str(folder), "--steps", "60", "--eval-every", "30",
                 "--n-layer", "2", "--n-head", "2", "--n-embd", "32", "--context", "64", "--batch-size", "8",
                 "-q"]) == 0
    for generator in ("ngram", "nearest"):
        assert main(["train", str(small_corpus), "--model", str(folder), "--generator", generator, "-q"]) == 0
    assert main(["train", str(small_corpus), "--model", str(folder), "--generator", "lstm", "--steps", "20",
                 "--eval-every", "10", "--batch-size", "8", "-q"]) == 0
    assert main(["train", str(small_corpus), "--model", str(folder), "--decoder", "--steps", "40", "--batch-size", "8",
                 "-q"]) == 0
    assert main(["train", str(small_corpus), "--model", str(folder), "--travel", "--steps", "300", "-q"]) == 0
    assert main(["train", str(small_corpus), "--model", str(folder), "--generator", "gpt2-music", "--steps", "30",
                 "--eval-every", "30", "--n-layer", "2", "--n-head", "2", "--n-embd", "32", "--context", "64",
                 "--batch-size", "8", "-q"]) == 0
    return folder
