"""The pose LSTM: falling losses, resume, safetensors files, sampling, and clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from bopbot.data.corpus import Corpus
from bopbot.errors import BopBotError
from bopbot.models.lstm import LSTMSize, PoseLSTM, load_lstm, sample_poses
from bopbot.models.train_lstm import LSTMSettings, mdn_loss, train_lstm

TINY = LSTMSize(hidden=32, layers=1, mixtures=3)


def tiny_settings(steps: int) -> LSTMSettings:
    return LSTMSettings(steps=steps, batch_size=8, window_seconds=2.0, learning_rate=1e-2, eval_every=10,
                        eval_batches=4)


@pytest.fixture(scope="module")
def trained(small_corpus, tmp_path_factory):
    """A tiny LSTM trained 10 steps, then resumed to 40; the folder and both reports."""
    folder = tmp_path_factory.mktemp("lstm")
    early = train_lstm(small_corpus, folder, TINY, tiny_settings(10), progress=False)
    late = train_lstm(small_corpus, folder, TINY, tiny_settings(40), progress=False)
    return folder, early, late


def test_training_lowers_losses_and_resumes(trained):
    folder, early, late = trained
    assert json.loads((folder / "lstm-checkpoint" / "state.json").read_text())["step"] == 40
    assert (early.steps, late.steps) == (10, 40)
    assert late.train_loss < early.train_loss
    assert late.validation_loss < early.validation_loss
    assert json.loads((folder / "lstm.json").read_text())["report"]["steps"] == 40


def test_resuming_with_another_size_is_refused(trained, small_corpus):
    with pytest.raises(BopBotError, match="another size"):
        train_lstm(small_corpus, trained[0], LSTMSize(hidden=16, layers=1, mixtures=2), tiny_settings(50), progress=False)
    with pytest.raises(BopBotError, match="already trained 40 steps, past the 20 asked for"):
        train_lstm(small_corpus, trained[0], TINY, tiny_settings(20), progress=False)


def test_saved_as_safetensors_and_json_only(trained):
    folder, _, _ = trained
    names = {path.name for path in folder.rglob("*")}
    assert {"lstm.safetensors", "lstm.json", "optimizer.safetensors", "state.json"} <= names
    assert not [name for name in names if name.endswith((".pt", ".bin", ".pkl", ".pth"))]


def test_sampling_is_finite_seeded_and_tempered(trained, small_corpus):
    folder, _, _ = trained
    loaded = load_lstm(folder)
    assert not loaded.model.training
    context = next(Corpus(small_corpus).sequences()).poses[:60]
    poses = sample_poses(loaded, context, 50, seed=3)
    assert poses.shape == (50, 17, 3) and np.isfinite(poses).all() and (poses[:, :, 2] == 1).all()
    np.testing.assert_array_equal(poses, sample_poses(loaded, context, 50, seed=3))
    assert not np.array_equal(poses, sample_poses(loaded, context, 50, seed=4))
    calm = np.diff(sample_poses(loaded, context, 50, temperature=1e-4, seed=3), axis=0)
    wild = np.diff(sample_poses(loaded, context, 50, temperature=1.5, seed=3), axis=0)
    assert np.abs(calm).mean() < np.abs(wild).mean()


def test_sampling_fills_missing_joints(trained, small_corpus):
    folder, _, _ = trained
    context = next(Corpus(small_corpus).sequences()).poses[:20].copy()
    context[:, 9:, :] = 0.0  # arms and legs never seen
    context[5:, :3, :] = 0.0  # the face lost after five frames
    assert np.isfinite(sample_poses(load_lstm(folder), context, 10, seed=0)).all()


def test_mdn_loss_ignores_masked_frames():
    model = PoseLSTM(TINY)
    x, y = torch.randn(2, 5, 34), torch.randn(2, 5, 34)
    mask = torch.ones(2, 5, dtype=torch.bool)
    mask[:, 2] = False
    logit_pi, mu, log_sigma, _ = model(x)
    scored = mdn_loss(logit_pi, mu, log_sigma, y, mask)
    y[:, 2] = 1e6
    assert torch.isfinite(scored) and torch.equal(scored, mdn_loss(logit_pi, mu, log_sigma, y, mask))


def test_mdn_loss_is_nats_per_frame_with_poses_in_torso_lengths():
    """The loss is the density of the next pose in torso lengths, not in the standardised units the
    network works in: standardising with std s would shift it by the sum of log s."""
    from scipy.special import logsumexp
    from scipy.stats import norm

    model = PoseLSTM(TINY)
    model.mean.copy_(torch.linspace(-1, 1, 34))
    model.std.copy_(torch.linspace(0.05, 0.8, 34))
    x, y = torch.randn(1, 6, 34) * 0.3, torch.randn(1, 6, 34) * 0.3
    with torch.no_grad():
        logit_pi, mu, log_sigma, _ = model(x)
        loss = mdn_loss(logit_pi, mu, log_sigma, y, torch.ones(1, 6, dtype=torch.bool)).item()
    weights = torch.log_softmax(logit_pi[0], -1).numpy()
    density = norm.logpdf(y[0].numpy()[:, None, :], mu[0].numpy(), np.exp(log_sigma[0].numpy())).sum(-1)
    assert loss == pytest.approx(-logsumexp(weights + density, axis=1).mean(), rel=1e-5)


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(BopBotError, match="missing") as caught:
        load_lstm(tmp_path)
    assert "lstm" in str(caught.value)


def test_bad_sampling_arguments_are_errors(trained):
    loaded = load_lstm(trained[0])
    with pytest.raises(BopBotError, match="temperature"):
        sample_poses(loaded, np.zeros((4, 17, 3), np.float32), 3, temperature=0)
    with pytest.raises(BopBotError, match="context"):
        sample_poses(loaded, np.zeros((4, 17), np.float32), 3)


def test_a_corpus_of_one_dance_trains_on_its_start(fixtures, tmp_path):
    """A corpus of one dance trains on its start and validates on its last tenth, as the GPT-2 does
    (it once ended in the catch-all line)."""
    from bopbot.app.cli import main

    corpus = tmp_path / "corpus"
    assert main(["extract", str(fixtures / "cmu_salsa" / "60_01_excerpt.bvh"), "-o", str(corpus), "-q"]) == 0
    report = train_lstm(corpus, tmp_path, TINY, tiny_settings(4), progress=False)
    assert report.steps == 4 and np.isfinite(report.validation_loss)
