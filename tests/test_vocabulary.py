"""The pose vocabulary: fit on a real corpus, encode/decode, quantisation error, files, words."""

from __future__ import annotations

import numpy as np
import pytest

from bopbot.app.cli import main
from bopbot.data.corpus import Corpus
from bopbot.errors import BopBotError
from bopbot.vocabulary.vocabulary import LOWER_BODY, PoseVocabulary, chunked
from bopbot.vocabulary.words import made_up_words


@pytest.fixture(scope="module")
def frames(small_corpus) -> np.ndarray:
    return np.concatenate(list(Corpus(small_corpus).frame_chunks()))


@pytest.fixture(scope="module")
def fitted(small_corpus) -> tuple[PoseVocabulary, object]:
    vocabulary = PoseVocabulary(k=128, seed=0)
    with pytest.warns(UserWarning, match="frames for 128 words: k-means places its words better with 39 frames a word"):
        report = vocabulary.fit(lambda: chunked(Corpus(small_corpus).frame_chunks(), 5000))  # the small corpus
    return vocabulary, report


def test_round_trip_error_is_small_and_shrinks_with_more_words(fitted, frames, small_corpus):
    vocabulary, report = fitted
    assert report.frames == len(frames) and report.empty_words == 0
    ids = vocabulary.encode(frames)
    decoded = vocabulary.decode(ids)
    error = np.linalg.norm(decoded[:, :, :2] - frames[:, :, :2], axis=2).mean()
    # encoding with the final word poses (the means) can only match frames better than fitting did
    assert 0.9 * report.quantisation_error < error <= report.quantisation_error * 1.001
    assert error < 0.25  # a quarter of a torso length at 128 words
    coarse = PoseVocabulary(k=16, seed=0)
    coarse.fit(lambda: Corpus(small_corpus).frame_chunks())
    assert coarse.quantisation_error(frames) > 1.3 * error


def test_words_are_the_means_of_their_frames(fitted, frames):
    """Each word is the mean of the frames assigned to it while fitting; encoding again with
    those means moves only a few frames at the edges, so the means still match closely."""
    vocabulary, _ = fitted
    ids = vocabulary.encode(frames)
    busiest = np.bincount(ids).argmax()
    np.testing.assert_allclose(vocabulary.centroids_[busiest], frames[ids == busiest, :, :2].mean(axis=0), atol=0.02)


def test_missing_joints_are_matched_on_the_joints_present(fitted, frames):
    vocabulary, _ = fitted
    sample = frames[::50].copy()
    full = vocabulary.encode(sample)
    sample[:, 9, :] = 0  # lose the left wrist
    assert (vocabulary.encode(sample) == full).mean() > 0.8
    sample[3] = 0  # nobody in this frame: it holds the word before
    assert vocabulary.encode(sample)[3] == vocabulary.encode(sample)[2]


def test_training_sample_is_capped_and_streamed(small_corpus):
    vocabulary = PoseVocabulary(k=32, max_training_frames=400)
    with pytest.warns(UserWarning, match="400 frames for 32 words"):  # the cap asked for is said to be small
        report = vocabulary.fit(lambda: chunked(Corpus(small_corpus).frame_chunks(), 100))
    assert report.training_frames == 400 and report.frames > 10 * 400


def test_save_and_load_keep_words_and_poses(fitted, frames, tmp_path):
    vocabulary, _ = fitted
    vocabulary.save(tmp_path)
    loaded = PoseVocabulary.load(tmp_path)
    assert loaded.words_ == vocabulary.words_
    np.testing.assert_array_equal(loaded.encode(frames[:500]), vocabulary.encode(frames[:500]))
    (tmp_path / "vocabulary.safetensors").write_bytes(b"garbage")
    with pytest.raises(BopBotError, match="vocabulary.safetensors"):
        PoseVocabulary.load(tmp_path)


def test_a_part_wise_vocabulary_pairs_every_upper_pose_with_every_lower_pose(small_corpus, frames, tmp_path):
    vocabulary = PoseVocabulary(parts=(8, 4), niter=10)
    report = vocabulary.fit(lambda: chunked(Corpus(small_corpus).frame_chunks(), 5000))
    assert vocabulary.k == 32 and report.frames == len(frames)
    vocabulary.save(tmp_path)
    loaded = PoseVocabulary.load(tmp_path)
    assert loaded.parts == (8, 4) and loaded.k == 32
    # before the exact means, word u*4+l held upper pose u and lower pose l: the words sharing an
    # upper pose share their k-means arms (the means then follow each pair's own frames)
    fresh = PoseVocabulary(parts=(8, 4), niter=10)
    sample = frames[(frames[:, :, 2] > 0).all(axis=1)][:, :, :2].reshape(-1, 34)
    centroids = fresh._part_centroids(np.ascontiguousarray(sample)).reshape(8, 4, 17, 2)
    upper = [j for j in range(17) if j not in LOWER_BODY]
    assert np.ptp(centroids[:, :, upper], axis=1).max() == 0 and np.ptp(centroids[:, :, LOWER_BODY], axis=0).max() == 0
    assert np.ptp(centroids[:, 0, upper], axis=0).max() > 0.1 and np.ptp(centroids[0, :, LOWER_BODY], axis=0).max() > 0.1
    assert loaded.quantisation_error(frames) < 0.5


def test_too_few_frames_for_k_is_a_clear_error(frames):
    with pytest.raises(BopBotError, match="cannot make 5000 words"):
        PoseVocabulary(k=5000).fit(lambda: [frames[:1000]])


def test_made_up_words_are_five_letter_non_english_and_deterministic():
    from english_words import get_english_words_set

    words = made_up_words(52_000)
    english = get_english_words_set(["web2", "gcide"], lower=True)
    assert len(set(words)) == 52_000
    assert all(len(w) == 5 and w.isalpha() and w.islower() for w in words)
    assert not english & set(words)
    assert made_up_words(100) == words[:100]


def test_too_few_frames_a_word_is_said_once_in_bopbots_words(small_corpus, tmp_path, capfd):
    """faiss prints its own warning below 39 frames a word; the CLI says it in one line of its own."""
    assert main(["vocab", str(small_corpus), "-k", "512", "-o", str(tmp_path / "model"), "-q"]) == 0
    said = capfd.readouterr().err
    assert "bopbot: warning:" in said and "frames for 512 words" in said and "smaller -k" in said
    assert "please provide at least" not in said  # faiss's own line


def _seen_on_a_terminal(command: list[str]) -> list[str]:
    """The lines a terminal of 100 columns shows for `command`: its stdout and stderr on a pty, each
    line as left after the carriage returns that redraw a progress bar."""
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import sys
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    run = subprocess.Popen([sys.executable, "-m", "bopbot", *command], stdin=subprocess.DEVNULL, stdout=follower,
                           stderr=follower)
    os.close(follower)
    out = b""
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the other end closed: the run is over
            break
        if not data:
            break
        out += data
    os.close(leader)
    assert run.wait(timeout=60) is not None
    return [line.rsplit("\r", 1)[-1] for line in out.decode().replace("\r\n", "\n").split("\n") if line.rsplit("\r", 1)[-1]]


def test_where_a_progress_bar_is_drawn_a_warning_or_an_error_is_a_line_of_its_own(small_corpus, tmp_path):
    """On a terminal, the error came inside the bar's line ("sampling:   0%| ... bopbot: error: ...")
    and the bar, closed only when collected, was drawn again after it; a warning landed inside the
    bar's line the same way. The bar is closed first, and the error is the last line."""
    seen = _seen_on_a_terminal(["vocab", str(small_corpus), "-k", "100000", "-o", str(tmp_path / "model")])
    assert seen[-1].startswith("bopbot: error: ") and "cannot make 100000 words" in seen[-1]
    assert seen[0].startswith("sampling:")  # the bar was drawn
    assert not [line for line in seen if "bopbot:" in line and not line.startswith("bopbot:")]
    seen = _seen_on_a_terminal(["vocab", str(small_corpus), "-k", "512", "-o", str(tmp_path / "model")])
    assert any(line.startswith("bopbot: warning: ") and "frames for 512 words" in line for line in seen)
    assert not [line for line in seen if "bopbot:" in line and not line.startswith("bopbot:")]
    assert seen[-1].startswith("wrote ")
