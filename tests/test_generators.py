"""Every generator behind the one interface, through `bopbot dance`, and the baselines' own behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from bopbot.app.cli import main
from bopbot.data.pose_sequence import PoseSequence
from bopbot.evaluation.word_metrics import CopyIndex
from bopbot.models.baselines import NearestDance, NgramWords, RandomWords, load_sentences
from bopbot.models.generators import NAMES, load_generator
from bopbot.models.sampling import Sampling
from bopbot.vocabulary.vocabulary import PoseVocabulary


@pytest.mark.parametrize("name", NAMES)
def test_every_generator_dances(fixtures, tiny_model, tmp_path, name):
    output = tmp_path / f"{name}.mp4"
    clip = fixtures / "cmu_salsa" / "60_05_excerpt.bvh"
    assert main(["dance", str(clip), "-o", str(output), "--model", str(tiny_model), "--generator", name,
                 "--seconds", "2", "--layout", "dancer-only", "--save-poses", "--seed", "1"]) == 0
    poses = PoseSequence.load(output.with_suffix(".npz"))
    assert len(poses) == 40 and np.isfinite(poses.keypoints).all() and poses.meta["generator"] == name
    assert (np.abs(np.diff(poses.keypoints[:, :, :2], axis=0)).sum() > 0)  # it moves


def test_nearest_continues_a_training_dance_verbatim(tiny_model):
    vocabulary = PoseVocabulary.load(tiny_model)
    sentences = load_sentences(tiny_model)
    nearest = NearestDance(vocabulary, sentences)
    start = int(nearest.ends[len(nearest.ends) // 2])
    context = sentences[start - 60:start + 1]
    words = nearest.continue_words(context, 30, 1.0, np.random.default_rng(0))
    assert CopyIndex(sentences).longest_copy(words) == 30  # all 30 words, verbatim from training
    assert nearest.match(context) == start or np.array_equal(  # the exact stretch, or one just like it
        sentences[nearest.match(context) + nearest.offsets], sentences[start + nearest.offsets])


def test_ngram_follows_its_counts_and_random_its_frequencies(tiny_model):
    vocabulary = PoseVocabulary.load(tiny_model)
    sentences = load_sentences(tiny_model)
    ngram = NgramWords.fit(sentences, vocabulary.k)
    words = ngram.continue_words(sentences[:2], 2000, 1.0, np.random.default_rng(0))
    seen = set(zip(sentences[:-2], sentences[1:-1], sentences[2:]))
    continued = list(zip(words[:-2], words[1:-1], words[2:]))
    assert np.mean([gram in seen for gram in continued]) > 0.95  # every step a trigram it has seen
    first = sentences[:np.argmax(sentences == vocabulary.k)]  # the first dance (an <eod> ends each)
    assert ngram.log_loss(first) < RandomWords(vocabulary).log_loss(first)
    drawn = RandomWords(vocabulary).continue_words(np.array([0]), 20_000, 1.0, np.random.default_rng(0))
    expected = vocabulary.counts_ / vocabulary.counts_.sum()
    assert np.abs(np.bincount(drawn, minlength=vocabulary.k) / 20_000 - expected).max() < 0.02


def test_the_random_baseline_trains_on_nothing_and_changes_nothing(tiny_model, small_corpus, tmp_path, capsys):
    """`random` draws from the vocabulary's counts: training it says so and writes nothing."""
    import shutil

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    before = {path.name: path.stat().st_mtime_ns for path in model.iterdir()}
    assert main(["train", str(small_corpus), "--model", str(model), "--generator", "random", "-q"]) == 0
    assert "the random baseline needs no training" in capsys.readouterr().out
    assert {path.name: path.stat().st_mtime_ns for path in model.iterdir()} == before


def test_generators_are_repeatable_per_seed_and_differ_between_seeds(tiny_model, small_corpus):
    from bopbot.data.corpus import Corpus

    vocabulary = PoseVocabulary.load(tiny_model)
    context = next(Corpus(small_corpus).sequences()).poses[:100]
    for name in NAMES:
        generator = load_generator(name, tiny_model, vocabulary)
        first = generator.continue_dance(context, 30, Sampling(seed=3)).poses
        again = generator.continue_dance(context, 30, Sampling(seed=3)).poses
        np.testing.assert_array_equal(first, again, err_msg=name)
        others = [generator.continue_dance(context, 30, Sampling(seed=seed)).poses for seed in (4, 5, 6)]
        assert any(not np.array_equal(first, other) for other in others), f"{name} ignores the seed"


@pytest.mark.parametrize("name, lacking", [("nearest", "sentences.safetensors"), ("ngram", "ngram.safetensors")])
def test_a_generator_the_folder_lacks_is_named_with_the_command_that_trains_it(tiny_model, tmp_path, name, lacking):
    import shutil

    from bopbot.errors import BopBotError

    folder = shutil.copytree(tiny_model, tmp_path / "model")
    (folder / lacking).unlink()
    with pytest.raises(BopBotError, match=f"{lacking}: missing: train it with .*--generator {name}`"):
        load_generator(name, folder, PoseVocabulary.load(folder))
