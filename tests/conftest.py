"""Shared fixtures: the committed CMU excerpts every clone has (`tests/data/`), and the real dance
data beside the project, skipped with a reason where absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
#: Real mocap committed with the tests (CMU salsa excerpts, with CMU's acknowledgment beside them).
FIXTURES = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def data() -> Path:
    """`../shared/data`, or a skip saying it is absent (as on a user's machine)."""
    if not DATA.is_dir():
        pytest.skip(f"real dance data not found at {DATA} (only developers and CI have it)")
    return DATA


@pytest.fixture(scope="session")
def ctrl_c_at_worker_start() -> str:
    """Python to run before a program's own code: a Ctrl-C is sent the moment each worker process
    multiprocessing spawns exists, before its start-up data is written to it (a race a user's
    Ctrl-C can hit, made certain)."""
    return """
import os, signal
from multiprocessing import util
spawn = util.spawnv_passfds
def spawn_then_ctrl_c(*args):
    pid = spawn(*args)
    if "--multiprocessing-fork" in args[1]:  # a worker (not multiprocessing's resource tracker)
        os.kill(os.getpid(), signal.SIGINT)
    return pid
util.spawnv_passfds = spawn_then_ctrl_c
"""


@pytest.fixture(scope="session")
def fixtures() -> Path:
    """`tests/data`: real dance every clone has (see its README for what and whose)."""
    return FIXTURES


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory) -> Path:
    """A real corpus every clone has: the five committed CMU salsa excerpts seen from two yaws, mirrored."""
    from bopbot.ingest.build_corpus import build_corpus
    from bopbot.ingest.extract import ExtractOptions

    folder = tmp_path_factory.mktemp("corpus")
    # Named from the project's root, as `training/*.txt` name the default model's inputs: the
    # training/validation split hashes each input's path as given, so it is the same in every clone.
    root = FIXTURES.parents[1]
    takes = sorted(path.relative_to(root) for path in (FIXTURES / "cmu_salsa").glob("*.bvh"))
    here = Path.cwd()
    os.chdir(root)
    try:
        report = build_corpus(takes, folder, ExtractOptions(yaws=(0.0, 90.0), mirror=True), jobs=2, progress=False)
    finally:
        os.chdir(here)
    assert not report.failed
    return folder


@pytest.fixture(scope="session")
def openpose_dances(tmp_path_factory) -> Path:
    """Two real dances as OpenPose writes them, one JSON file a frame in a `json/` folder each: two
    CMU excerpts filmed from the front, written by BopBot's OpenPose exporter (OpenPose's own output
    of real videos is in ../shared/data/openpose)."""
    from bopbot.choreography.export import write_openpose
    from bopbot.ingest.extract import extract

    root = tmp_path_factory.mktemp("openpose")
    for take in ("60_01", "61_13"):
        write_openpose(extract(FIXTURES / "cmu_salsa" / f"{take}_excerpt.bvh")[0].keypoints, root / take / "json", take)
    return root


@pytest.fixture(scope="session")
def song_corpus(data, tmp_path_factory) -> Path:
    """A real corpus of dances with their songs: two Tang takes seen from the front."""
    from bopbot.ingest.build_corpus import build_corpus
    from bopbot.ingest.extract import ExtractOptions

    folder = tmp_path_factory.mktemp("song_corpus")
    takes = [data / "mocap" / "tang2018" / name for name in ("DANCE_C_2", "DANCE_R_2")]
    report = build_corpus(takes, folder, ExtractOptions(), jobs=2, progress=False)
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


@pytest.fixture(scope="session")
def puppet_video(tmp_path_factory) -> Path:
    """A real video every clone can make: 3 s of a committed CMU take drawn as a cartoon person,
    640x360 at 30 fps, silent (`tests/puppet.py`)."""
    from puppet import write_puppet_video

    path = tmp_path_factory.mktemp("puppet") / "puppet_dance.mp4"
    write_puppet_video(FIXTURES / "cmu_salsa" / "60_01_excerpt.bvh", path, seconds=3.0)
    return path


@pytest.fixture(scope="session")
def puppet_video_with_song(tmp_path_factory) -> Path:
    """4 s of another committed take drawn as a cartoon person, 640x360 at 30 fps, with a 120 bpm
    song as its sound (AAC)."""
    from puppet import write_puppet_video, write_song

    folder = tmp_path_factory.mktemp("puppet_song")
    song = write_song(folder / "song.wav", 4.0)
    path = folder / "puppet_song.mp4"
    write_puppet_video(FIXTURES / "cmu_salsa" / "60_05_excerpt.bvh", path, seconds=4.0, song=song)
    return path


@pytest.fixture(scope="session")
def puppet_videos(tmp_path_factory) -> list[Path]:
    """Five videos of the five committed takes, 2 to 10 s long, for batches of inputs."""
    from puppet import write_puppet_video

    folder = tmp_path_factory.mktemp("puppets")
    videos = []
    for seconds, take in zip((2.0, 4.0, 6.0, 8.0, 10.0), sorted((FIXTURES / "cmu_salsa").glob("*.bvh"))):
        videos.append(folder / f"{take.stem}.mp4")
        write_puppet_video(take, videos[-1], seconds=seconds)
    return videos
