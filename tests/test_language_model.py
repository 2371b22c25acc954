"""Tokenizer, GPT-2 training (falling loss, resume, safetensors), generation and smoothing."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bopbot.choreograph import Sampling, continue_words, joint_speeds, smooth
from bopbot.language_model import GPT2Size, make_tokenizer, new_gpt2
from bopbot.model_folder import Choreographer
from bopbot.train import TrainSettings, train
from bopbot.vocabulary import PoseVocabulary


def test_tokenizer_round_trip(tiny_model):
    vocabulary = PoseVocabulary.load(tiny_model)
    tokenizer = make_tokenizer(vocabulary.words_)
    ids = [5, 5, 17, 63, 0]
    sentence = " ".join(vocabulary.words_of(ids)) + " <eod>"
    assert tokenizer(sentence)["input_ids"] == ids + [64]
    assert tokenizer.decode(ids) == " ".join(vocabulary.words_of(ids))
    assert tokenizer("zzzzz")["input_ids"] == [tokenizer.unk_token_id]


def test_training_lowers_validation_loss_and_resumes(tiny_model, small_corpus, tmp_path):
    state = json.loads((tiny_model / "training.json").read_text())
    assert state["validation_perplexity"] < 64  # better than guessing among 64 words
    PoseVocabulary.load(tiny_model).save(tmp_path)
    size = GPT2Size(n_layer=1, n_head=2, n_embd=32, n_positions=32, dropout=0.0)
    first = train(small_corpus, tmp_path, size, TrainSettings(steps=10, eval_every=10, batch_size=8), progress=False)
    resumed = train(small_corpus, tmp_path, size, TrainSettings(steps=40, eval_every=10, batch_size=8), progress=False)
    assert json.loads((tmp_path / "checkpoint" / "state.json").read_text())["step"] == 40
    assert resumed.validation_loss < first.validation_loss
    saved = {p.name for p in tmp_path.rglob("*")}
    assert {"model.safetensors", "optimizer.safetensors", "tokenizer.json"} <= saved
    assert not [name for name in saved if name.endswith((".bin", ".pt", ".pkl"))]


def test_generation_longer_than_the_context_window(tiny_model):
    choreographer = Choreographer.load(tiny_model)
    assert choreographer.generator.model.config.n_positions == 64
    words = continue_words(choreographer.generator.model, np.array([3, 3, 3]), 200, Sampling(seed=1))
    assert len(words) == 200 and words.min() >= 0 and words.max() < 64  # no special tokens
    again = continue_words(choreographer.generator.model, np.array([3, 3, 3]), 200, Sampling(seed=1))
    np.testing.assert_array_equal(words, again)


def test_sampling_settings_are_checked(tiny_model):
    model = new_gpt2(GPT2Size(n_layer=1, n_head=1, n_embd=8, n_positions=8), 4)
    with pytest.raises(Exception, match="temperature"):
        continue_words(model, np.array([1]), 3, Sampling(temperature=0))
    with pytest.raises(Exception, match="top-p"):
        continue_words(model, np.array([1]), 3, Sampling(top_p=1.5))


def test_smoothing_bounds_joint_speeds(tiny_model):
    vocabulary = PoseVocabulary.load(tiny_model)
    rng = np.random.default_rng(0)
    jumpy = vocabulary.decode(rng.integers(0, 64, size=200))  # a new word every frame
    smoothed = smooth(jumpy, fps=20, max_speed=8.0)
    assert joint_speeds(jumpy).max() > 20
    assert joint_speeds(smoothed).max() <= 8.0 + 1e-4
    held = vocabulary.decode(np.repeat(rng.integers(0, 64, size=10), 40))  # each word held 2 s
    settled = smooth(held)
    np.testing.assert_allclose(settled[30::40, :, :2], held[30::40, :, :2], atol=0.01)  # arrives and holds
