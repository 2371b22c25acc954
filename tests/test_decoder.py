"""The word decoder: pose words back into movement, learned; loaded strictly; used by every word generator."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from bopbot.app.cli import main
from bopbot.data.corpus import Corpus
from bopbot.errors import BopBotError
from bopbot.models.decoder import DESCRIPTION, WEIGHTS, WordMover, decode_words, frame_inputs, load_decoder
from bopbot.models.train_decoder import DecoderSettings, WordDecoder, as_decoder, motion_loss
from bopbot.models.generators import load_generator
from bopbot.models.sampling import Sampling
from bopbot.vocabulary.vocabulary import PoseVocabulary
from bopbot.vocabulary.word_motion import word_motion


def test_an_untrained_decoder_moves_as_word_motion_does(tiny_model):
    """The decoder writes an offset from `word_motion`'s curve that starts at zero: training can
    only start from the hand-made curve."""
    vocabulary = PoseVocabulary.load(tiny_model)
    ids = np.repeat(np.arange(10) * 5 % vocabulary.k, 4)
    untrained = decode_words(as_decoder(WordDecoder(vocabulary.centroids_).eval()), vocabulary, ids)
    assert np.abs(untrained - word_motion(vocabulary, ids)).max() < 1e-5


def test_the_loss_is_zero_only_for_the_real_motion_and_ignores_missing_joints():
    rng = np.random.default_rng(0)
    poses = torch.from_numpy(rng.normal(size=(2, 30, 17, 3)).astype(np.float32))
    poses[..., 2] = 1.0
    exact = poses[..., :2].reshape(2, 30, 34)
    settings = DecoderSettings()
    assert motion_loss(exact, poses, settings).item() == pytest.approx(0.0, abs=1e-6)
    shaken = exact + 0.01 * torch.randn_like(exact)  # same positions within 0.01, different velocities
    assert motion_loss(shaken, poses, settings).item() > 0.005
    hidden = poses.clone()
    hidden[:, :, 3, 2] = 0.0  # joint 3 missing everywhere: whatever is written there is not scored
    wrong_there = exact.clone().reshape(2, 30, 17, 2)
    wrong_there[:, :, 3] += 5.0
    assert motion_loss(wrong_there.reshape(2, 30, 34), hidden, settings).item() == pytest.approx(0.0, abs=1e-6)


def test_the_trained_decoder_moves_a_dance_closer_to_the_real_one_than_word_motion(small_corpus, tiny_model, tmp_path):
    """Trained by `bopbot train --decoder`: on a corpus dance it scores better than `word_motion`'s
    curve (the untrained decoder) on what it is trained for, the positions, velocities,
    accelerations and energy of the real movement; it is saved, described and used by the generators."""
    folder = tmp_path / "model"
    shutil.copytree(tiny_model, folder)
    for name in (WEIGHTS, DESCRIPTION):
        (folder / name).unlink(missing_ok=True)
    assert main(["train", str(small_corpus), "--model", str(folder), "--decoder", "--steps", "150",
                 "--batch-size", "16", "-q"]) == 0
    report = json.loads((folder / DESCRIPTION).read_text())["report"]["validation"]
    assert set(report) == {"decoder", "word_motion"} and 0 < report["decoder"]["speed_ratio"] < 3
    vocabulary = PoseVocabulary.load(folder)
    decoder = load_decoder(folder, vocabulary)
    assert decoder is not None
    sequence = next(s for _, sequences in Corpus(small_corpus).shards() for s in sequences)
    ids = vocabulary.encode(sequence.poses)
    curve, runs = frame_inputs(vocabulary, ids)
    inputs = (torch.from_numpy(ids)[None], torch.from_numpy(curve)[None], torch.from_numpy(runs)[None])
    real = torch.from_numpy(np.asarray(sequence.poses, dtype=np.float32))[None]
    with torch.no_grad():
        learnt = motion_loss(torch.from_numpy(decoder(ids, curve, runs))[None], real, DecoderSettings()).item()
        untrained = motion_loss(WordDecoder(vocabulary.centroids_).eval()(*inputs), real, DecoderSettings()).item()
    assert learnt < 0.95 * untrained
    generator = load_generator("ngram", folder, vocabulary)
    assert generator.mover.name == "decoder"
    new = generator.continue_dance(sequence.poses[:100], 40, Sampling(seed=0))
    assert new.poses.shape == (40, 17, 3) and not new.low_pass and (new.poses[:, :, 2] == 1).all()
    # decoded after the context's words: the same new words decoded alone move differently at the seam
    alone = WordMover(vocabulary, decoder).move(new.ids)
    assert np.abs(alone[:3] - new.poses[:3]).max() > 1e-4
    assert np.abs(alone[-5:] - new.poses[-5:]).max() < 1e-3


def test_a_folder_without_a_decoder_moves_words_by_word_motion(tiny_model, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(tiny_model, folder)
    for name in (WEIGHTS, DESCRIPTION):
        (folder / name).unlink(missing_ok=True)
    vocabulary = PoseVocabulary.load(folder)
    assert load_decoder(folder, vocabulary) is None
    generator = load_generator("ngram", folder, vocabulary)
    assert generator.mover.name == "word_motion" and generator.mover.low_pass


def test_a_damaged_decoder_is_one_error_naming_its_file(tiny_model, tmp_path):
    vocabulary = PoseVocabulary.load(tiny_model)

    def damaged(change) -> BopBotError:
        folder = tmp_path / f"case{len(list(tmp_path.iterdir()))}"
        shutil.copytree(tiny_model, folder)
        change(folder)
        with pytest.raises(BopBotError) as caught:
            load_decoder(folder, vocabulary)
        return caught.value

    def other_vocabulary(folder):
        description = json.loads((folder / DESCRIPTION).read_text())
        description["words"] = 1024
        (folder / DESCRIPTION).write_text(json.dumps(description))

    def huge(folder):
        description = json.loads((folder / DESCRIPTION).read_text())
        description["size"]["hidden"] = 10 ** 6
        (folder / DESCRIPTION).write_text(json.dumps(description))

    def wrong_shapes(folder):
        description = json.loads((folder / DESCRIPTION).read_text())
        description["size"]["hidden"] = 64
        (folder / DESCRIPTION).write_text(json.dumps(description))

    def not_finite(folder):
        weights = load_file(str(folder / WEIGHTS))
        weights["write.bias"][0] = float("nan")
        save_file(weights, str(folder / WEIGHTS))

    def truncated(folder):
        data = (folder / WEIGHTS).read_bytes()
        (folder / WEIGHTS).write_bytes(data[: len(data) // 2])

    assert "1024 words" in str(damaged(other_vocabulary))
    assert "impossible size" in str(damaged(huge))
    assert "do not match" in str(damaged(wrong_shapes))
    assert "NaN" in str(damaged(not_finite))
    assert "unreadable word decoder" in str(damaged(truncated))
    error = damaged(lambda folder: (folder / DESCRIPTION).write_text("{"))
    assert DESCRIPTION in str(error)


def test_a_validation_split_far_from_the_asked_fraction_is_said(small_corpus, tiny_model, tmp_path, capsys):
    """Whole inputs are held out: with seed 9 two of the small corpus's five takes fall to
    validation, 40% of its frames where 10% was asked, and the training says so in one line."""
    folder = tmp_path / "model"
    shutil.copytree(tiny_model, folder)
    assert main(["train", str(small_corpus), "--model", str(folder), "--decoder", "--steps", "2", "--batch-size", "2",
                 "--seed", "9", "-q"]) == 0
    said = capsys.readouterr().err
    assert "bopbot: warning: the validation split holds 4" in said and "(asked: 10%)" in said
    assert main(["train", str(small_corpus), "--model", str(folder), "--decoder", "--steps", "2", "--batch-size", "2",
                 "-q"]) == 0
    assert "validation split" not in capsys.readouterr().err


def test_the_learning_rate_given_reaches_the_decoder_and_the_travel_model(small_corpus, tiny_model, tmp_path, capsys):
    """`--learning-rate` steers every training it is given to (it once reached only the GPT-2's): the
    same two steps at another rate give other weights, at the same rate the same ones; an option a
    training does not read is refused before any work."""
    def weights(kind: str, *rate: str) -> dict:
        folder = tmp_path / f"{kind}{'-'.join(rate)}-{len(list(tmp_path.iterdir()))}"
        shutil.copytree(tiny_model, folder)
        assert main(["train", str(small_corpus), "--model", str(folder), f"--{kind}", "--steps", "2",
                     "--batch-size", "4", "-q", *rate]) == 0
        return load_file(folder / ("decoder.safetensors" if kind == "decoder" else "travel.safetensors"))

    for kind in ("decoder", "travel"):
        default, again, other = weights(kind), weights(kind), weights(kind, "--learning-rate", "0.05")
        assert all(torch.equal(default[name], again[name]) for name in default)
        assert any(not torch.allclose(default[name], other[name]) for name in default), kind
    capsys.readouterr()
    folder = tmp_path / "untouched"
    shutil.copytree(tiny_model, folder)
    assert main(["train", str(small_corpus), "--model", str(folder), "--travel", "--eval-every", "5"]) == 1
    assert capsys.readouterr().err.strip() == ("bopbot: error: --eval-every: training the travel model does not "
                                               "read it; leave it out")
    assert main(["train", str(small_corpus), "--model", str(folder), "--decoder", "--device", "cuda"]) == 1
    assert capsys.readouterr().err.strip() == ("bopbot: error: --device: training the word decoder does not read "
                                               "it; leave it out")  # it trains on the CPU: cuda was silently not used
    assert sorted(path.name for path in folder.iterdir()) == sorted(path.name for path in tiny_model.iterdir())


def test_trains_help_gives_each_trainings_own_defaults():
    """`bopbot train --help` names the LSTM's, the decoder's and the travel model's defaults without
    importing torch to read them: they must be the ones those trainings use."""
    from bopbot.app.verbs.train import OTHER_DEFAULTS
    from bopbot.models.train_lstm import LSTMSettings
    from bopbot.models.train_travel import TravelSettings

    settings = {"LSTM": LSTMSettings(), "--decoder": DecoderSettings(), "--travel": TravelSettings()}
    for name, by_training in OTHER_DEFAULTS.items():
        assert by_training == {who: getattr(settings[who], name) for who in settings}, name


def test_a_corpus_of_one_dance_trains_the_decoder_and_the_travel_model(fixtures, tmp_path):
    """Its start trains, its last tenth validates, as for the GPT-2 and the LSTM: both once held the
    one dance out for validation and ended in 'unexpected ValueError' with nothing to train on."""
    corpus, model = tmp_path / "corpus", tmp_path / "model"
    assert main(["extract", str(fixtures / "cmu_salsa" / "60_01_excerpt.bvh"), "-o", str(corpus), "-q"]) == 0
    assert main(["vocab", str(corpus), "-k", "16", "-o", str(model), "-q"]) == 0
    for training in ("--decoder", "--travel"):
        assert main(["train", str(corpus), "--model", str(model), training, "--steps", "2", "-q"]) == 0
    assert load_decoder(model, PoseVocabulary.load(model)) is not None and (model / "travel.safetensors").is_file()


def test_a_decoder_trained_after_the_travel_model_says_to_train_the_travel_model_again(fixtures, tmp_path, capsys):
    """The travel model reads the dancer's steps from the decoder's movement: trained in the README's
    order nothing is said; a decoder trained after it (again, or for the first time) leaves it
    reading other movement than the dances show, and the decoder's training says so in one line."""
    corpus, model = tmp_path / "corpus", tmp_path / "model"
    assert main(["extract", str(fixtures / "cmu_salsa" / "60_01_excerpt.bvh"), "-o", str(corpus), "-q"]) == 0
    assert main(["vocab", str(corpus), "-k", "16", "-o", str(model), "-q"]) == 0
    capsys.readouterr()
    for training in ("--decoder", "--travel"):
        assert main(["train", str(corpus), "--model", str(model), training, "--steps", "2", "-q"]) == 0
    assert "warning" not in capsys.readouterr().err
    assert main(["train", str(corpus), "--model", str(model), "--decoder", "--steps", "2", "-q"]) == 0
    assert capsys.readouterr().err == (
        f"bopbot: warning: {model / 'travel.safetensors'}: the travel model was trained on the movement before this "
        f"decoder, and reads the dancer's steps from it: train it again with `bopbot train {corpus} --model {model} "
        "--travel`\n")


def test_hips_that_never_move_give_no_r2_rather_than_minus_infinity(tmp_path, capsys):
    """A travel model validated on hips that hold still has nothing to explain: its R² is said to be
    n/a (it was -inf, written into travel.json as -Infinity, which JSON does not have)."""
    dance = np.ones((400, 17, 3))
    dance[:, :, :2] = np.random.default_rng(0).uniform(20, 80, (17, 2))  # every joint held still
    dance[:, 9:11, 1] += 10 * np.sin(np.arange(400) / 5)[:, None]  # but the wrists
    np.save(tmp_path / "still.npy", dance)
    corpus, model = tmp_path / "corpus", tmp_path / "model"
    assert main(["extract", str(tmp_path / "still.npy"), "-o", str(corpus), "-q"]) == 0
    assert main(["vocab", str(corpus), "-k", "8", "-o", str(model), "-q"]) == 0
    capsys.readouterr()
    assert main(["train", str(corpus), "--model", str(model), "--travel", "--steps", "2", "-q"]) == 0
    assert "validation R² dx n/a" in capsys.readouterr().out
    described = json.loads((model / "travel.json").read_text(), parse_constant=lambda name: pytest.fail(name))
    assert described["report"]["validation_r2"]["dx"] is None


def test_a_training_that_runs_out_of_memory_says_so_in_one_line(small_corpus, tiny_model, tmp_path):
    """A batch of 1,000 windows fits this machine's memory (the check before training lets it
    through: 2.5 GB at least) but not 2 GB of address space (a real limit, as `ulimit -v` sets): once
    'unexpected MemoryError' (or torch's RuntimeError 'DefaultCPUAllocator: can't allocate memory'),
    now a line that says what to try. (100,000 windows are refused before any work:
    tests/test_language_model.py.)"""
    import resource
    import subprocess
    import sys

    folder = tmp_path / "model"
    shutil.copytree(tiny_model, folder)
    limit = 2 * 1024**3
    run = subprocess.run([sys.executable, "-m", "bopbot", "train", str(small_corpus), "--model", str(folder), "--decoder",
                          "--steps", "2", "--batch-size", "1000", "-q"], capture_output=True, text=True,
                         preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit)))
    assert run.returncode == 1 and run.stdout == ""
    assert re.fullmatch(r"bopbot: error: ran out of memory training \((MemoryError|RuntimeError|OutOfMemoryError)\): "
                        r"try a smaller --batch-size\n", run.stderr)
    assert "unexpected" not in run.stderr and run.stderr.count("\n") == 1
