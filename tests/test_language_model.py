"""Tokenizer, GPT-2 training (the next-word target, falling loss, resume, safetensors), generation and smoothing."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

from bopbot.app.cli import main
from bopbot.data.corpus import Corpus
from bopbot.data.motion import smooth
from bopbot.data.normalise import normalise
from bopbot.data.skeleton import INDEX, NUM_JOINTS
from bopbot.errors import BopBotError
from bopbot.ingest.build_corpus import build_corpus
from bopbot.ingest.extract import ExtractOptions
from bopbot.models.language_model import GPT2Size, load_gpt2, make_tokenizer, new_gpt2
from bopbot.models.model_folder import Choreographer
from bopbot.models.sampling import Sampling, continue_words
from bopbot.models.train import TrainSettings, encode_corpus, train
from bopbot.vocabulary.vocabulary import PoseVocabulary
from bopbot.vocabulary.word_motion import word_motion
from bopbot.vocabulary.words import made_up_words

CYCLE = 7


def _cycling_dancer() -> np.ndarray:
    """(CYCLE, 17, 2) pixel poses of a standing dancer whose left wrist is in a different place in each."""
    standing = {
        "nose": (100, 40), "left_eye": (104, 36), "right_eye": (96, 36), "left_ear": (108, 38),
        "right_ear": (92, 38), "left_shoulder": (115, 60), "right_shoulder": (85, 60),
        "left_elbow": (125, 85), "right_elbow": (75, 85), "left_wrist": (130, 110),
        "right_wrist": (70, 110), "left_hip": (110, 120), "right_hip": (90, 120),
        "left_knee": (112, 160), "right_knee": (88, 160), "left_ankle": (113, 200), "right_ankle": (87, 200),
    }
    pose = np.array([standing[name] for name in INDEX], dtype=np.float64)
    poses = np.repeat(pose[None], CYCLE, axis=0)
    for word, angle in enumerate(np.linspace(-1.2, 1.6, CYCLE)):
        poses[word, INDEX["left_wrist"]] = pose[INDEX["left_elbow"]] + 30 * np.array([np.cos(angle), np.sin(angle)])
    return poses


def test_tokenizer_round_trip(tiny_model):
    vocabulary = PoseVocabulary.load(tiny_model)
    tokenizer = make_tokenizer(vocabulary.words_)
    ids = [5, 5, 17, 63, 0]
    sentence = " ".join(vocabulary.words_of(ids)) + " <eod>"
    assert tokenizer(sentence)["input_ids"] == ids + [64]
    assert tokenizer.decode(ids) == " ".join(vocabulary.words_of(ids))
    assert tokenizer("zzzzz")["input_ids"] == [tokenizer.unk_token_id]


def test_gpt2_learns_the_next_word_not_the_one_after(tmp_path):
    """A dancer cycling through 7 poses, one a frame: after words 0 1 2 the model must say 3.

    Trained by `train` itself on a real corpus; the vocabulary is the 7 poses, so word = pose.
    Training on shifted labels (the word after next) makes this model answer 4.
    """
    poses = _cycling_dancer()
    for phase in range(2):
        np.save(tmp_path / f"dance{phase}.npy", np.roll(np.tile(poses, (120, 1, 1)), phase, axis=0))
    corpus = tmp_path / "corpus"
    report = build_corpus(sorted(tmp_path.glob("*.npy")), corpus, ExtractOptions(source_fps=20.0), jobs=1, progress=False)
    assert not report.failed
    vocabulary = PoseVocabulary(k=CYCLE)
    vocabulary.centroids_ = normalise(np.concatenate([poses, np.ones((CYCLE, NUM_JOINTS, 1))], axis=2))[0][:, :, :2]
    vocabulary.words_, vocabulary.counts_ = made_up_words(CYCLE), np.ones(CYCLE, dtype=np.int64)
    model_folder = tmp_path / "model"
    vocabulary.save(model_folder)
    for _, sequences in Corpus(corpus).shards():  # the corpus really is the cycle, a word a frame
        assert (np.diff(PoseVocabulary.load(model_folder).encode(sequences[0].poses)) % CYCLE == 1).all()

    size = GPT2Size(n_layer=1, n_head=2, n_embd=32, n_positions=16, dropout=0.0)
    settings = TrainSettings(steps=120, batch_size=16, learning_rate=1e-2, warmup=10, eval_every=120,
                             validation_fraction=0.0)
    trained = train(corpus, model_folder, size, settings, progress=False)
    assert trained.validation_perplexity < 1.5  # the next word is certain
    model, _ = load_gpt2(model_folder)
    with torch.no_grad():
        for start in range(CYCLE):
            context = torch.tensor([[(start + i) % CYCLE for i in range(3)]])
            assert int(model(context).logits[0, -1, :CYCLE].argmax()) == (start + 3) % CYCLE


def test_training_lowers_validation_loss_and_resumes(tiny_model, small_corpus, tmp_path):
    state = json.loads((tiny_model / "training.json").read_text())
    assert state["validation_perplexity"] < 64  # better than guessing among 64 words
    PoseVocabulary.load(tiny_model).save(tmp_path)
    size = GPT2Size(n_layer=1, n_head=2, n_embd=32, n_positions=32, dropout=0.0)
    first = train(small_corpus, tmp_path, size, TrainSettings(steps=10, eval_every=10, batch_size=8), progress=False)
    resumed = train(small_corpus, tmp_path, size, TrainSettings(steps=40, eval_every=10, batch_size=8), progress=False)
    assert json.loads((tmp_path / "checkpoint" / "state.json").read_text())["step"] == 40
    assert resumed.validation_loss < first.validation_loss
    exported = (tmp_path / "model.safetensors").read_bytes()
    with pytest.raises(BopBotError, match="already trained 40 steps, past the 20 asked for: give --steps above 40"):
        train(small_corpus, tmp_path, size, TrainSettings(steps=20, eval_every=10, batch_size=8), progress=False)
    assert (tmp_path / "model.safetensors").read_bytes() == exported  # refused before any work
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


def test_echo_favours_the_users_words_early_then_fades(tiny_model):
    model = Choreographer.load(tiny_model).generator.model
    context = np.array([5, 9, 17, 33] * 10)
    users = np.isin(np.stack([continue_words(model, context, 200, Sampling(seed=seed, echo=echo))
                              for seed in range(6) for echo in (0.0, 6.0)]), context).reshape(6, 2, 200)
    plain, echoed = users[:, 0].mean(axis=0), users[:, 1].mean(axis=0)
    assert echoed[:40].mean() > plain[:40].mean() + 0.2  # the user's own words first
    assert abs(echoed[-60:].mean() - plain[-60:].mean()) < 0.15  # faded after 4 s constants
    with pytest.raises(Exception, match="echo"):
        continue_words(model, context, 3, Sampling(echo=-1))


def test_no_copy_of_the_context_longer_than_the_limit_as_shown(tiny_model):
    from bopbot.evaluation.word_metrics import CopyIndex

    model = Choreographer.load(tiny_model).generator.model
    held = np.full(160, 7)  # a user holding one pose for 8 s: the echo and a cool temperature repeat it

    def longest_copies(**settings):
        return [CopyIndex(np.append(held, -1)).longest_copy(continue_words(
            model, held, 100, Sampling(temperature=0.3, seed=seed, echo=6.0, **settings))) for seed in range(3)]
    assert max(longest_copies(max_copy_seconds=100.0)) > 40  # unchecked, it copies for over 2 s
    assert max(longest_copies()) <= 30  # 1.5 s at 20 words a second
    assert max(longest_copies(played_rates=(0.25,))) <= 8  # played 4x slower: 8 words show for 1.6 s
    with pytest.raises(BopBotError, match="rate"):
        continue_words(model, held, 3, Sampling(played_rates=(0.0,)))


def test_a_phrase_is_danced_again_where_the_sampling_asks(tiny_model):
    model = Choreographer.load(tiny_model).generator.model
    context, positions = np.arange(40) % 20, model.config.n_positions
    for window in (positions, 16):  # in one window, and across sliding windows
        model.config.n_positions = window
        again = continue_words(model, context, 120, Sampling(seed=1, repeats=((50, 90, 40),), repeat=50.0))
        np.testing.assert_array_equal(again[50:90], again[10:50])  # the phrase from 10 danced again
        free = continue_words(model, context, 120, Sampling(seed=1))
        assert (free[50:90] != free[10:50]).mean() > 0.3  # written freely it is no repeat
    model.config.n_positions = positions
    with pytest.raises(BopBotError, match="repeat"):
        continue_words(model, context, 3, Sampling(repeats=((10, 20, 11),)))


def test_sampling_settings_are_checked(tiny_model):
    model = new_gpt2(GPT2Size(n_layer=1, n_head=1, n_embd=8, n_positions=8), 4)
    with pytest.raises(Exception, match="temperature"):
        continue_words(model, np.array([1]), 3, Sampling(temperature=0))
    with pytest.raises(Exception, match="top-p"):
        continue_words(model, np.array([1]), 3, Sampling(top_p=1.5))


def test_word_motion_moves_through_held_words(tiny_model):
    vocabulary = PoseVocabulary.load(tiny_model)
    ids = np.repeat([3, 17, 42], [5, 9, 5])  # runs of frames 0-4, 5-13 and 14-18: middles 2, 9 and 16
    shown = vocabulary.decode(ids)
    moving = word_motion(vocabulary, ids)
    assert moving.shape == shown.shape and (moving[:, :, 2] == shown[:, :, 2]).all()
    np.testing.assert_allclose(moving[[2, 9, 16], :, :2], shown[[2, 9, 16], :, :2], atol=1e-5)  # each word's pose
    np.testing.assert_allclose(moving[:3, :, :2], shown[:3, :, :2], atol=1e-5)  # held before the first middle
    np.testing.assert_allclose(moving[16:, :, :2], shown[16:, :, :2], atol=1e-5)  # and after the last
    steps = np.abs(np.diff(moving[:, :, :2], axis=0)).sum(axis=(1, 2))
    assert (steps[2:16] > 0).all()  # moving in every frame between: no freeze, then jump
    assert (moving[:, :, :2] >= shown[:, :, :2].min(axis=0) - 1e-5).all()  # never past the words' poses
    assert (moving[:, :, :2] <= shown[:, :, :2].max(axis=0) + 1e-5).all()


def test_smoothing_bounds_joint_speeds(tiny_model):
    vocabulary = PoseVocabulary.load(tiny_model)
    rng = np.random.default_rng(0)
    jumpy = vocabulary.decode(rng.integers(0, 64, size=200))  # a new word every frame
    smoothed = smooth(jumpy, fps=20, max_speed=8.0)
    speeds = lambda poses: np.linalg.norm(np.diff(poses[:, :, :2], axis=0), axis=2) * 20  # per second
    assert speeds(jumpy).max() > 20
    assert speeds(smoothed).max() <= 8.0 + 1e-4
    held = vocabulary.decode(np.repeat(rng.integers(0, 64, size=10), 40))  # each word held 2 s
    settled = smooth(held)
    np.testing.assert_allclose(settled[30::40, :, :2], held[30::40, :, :2], atol=0.01)  # arrives and holds


def test_a_corpus_of_one_dance_trains_on_its_start_and_validates_on_its_end(fixtures, tmp_path, capsys):
    corpus, model = tmp_path / "corpus", tmp_path / "model"
    assert main(["extract", str(fixtures / "cmu_salsa" / "60_01_excerpt.bvh"), "-o", str(corpus), "-q"]) == 0
    assert main(["vocab", str(corpus), "-k", "16", "-o", str(model), "-q"]) == 0
    vocabulary = PoseVocabulary.load(model)
    train_ids, valid_ids = encode_corpus(Corpus(corpus), vocabulary, 0.1, 0, progress=False)
    assert len(valid_ids) == round(0.1 * (len(train_ids) + len(valid_ids))) and valid_ids[-1] == vocabulary.k
    assert main(["train", str(corpus), "--model", str(model), "--steps", "2", "--n-layer", "1", "--n-head", "1",
                 "--n-embd", "16", "--context", "16", "--eval-every", "2", "-q"]) == 0
    assert "validation perplexity" in capsys.readouterr().out


def test_every_file_training_writes_has_a_new_files_usual_mode(fixtures, tmp_path):
    """The GPT-2's and the LSTM's weights, exported and in their checkpoints, are readable as the
    user's umask allows, as every other file of the model folder is: safetensors' writer made them
    0600, and a model trained by one account could not be served by another."""
    corpus, model = tmp_path / "corpus", tmp_path / "model"
    assert main(["extract", str(fixtures / "cmu_salsa" / "60_01_excerpt.bvh"), "-o", str(corpus), "-q"]) == 0
    assert main(["vocab", str(corpus), "-k", "16", "-o", str(model), "-q"]) == 0
    umask = os.umask(0o022)
    try:
        assert main(["train", str(corpus), "--model", str(model), "--steps", "2", "--n-layer", "1", "--n-head", "1",
                     "--n-embd", "16", "--context", "16", "--eval-every", "2", "-q"]) == 0
        assert main(["train", str(corpus), "--model", str(model), "--generator", "lstm", "--steps", "2",
                     "--eval-every", "2", "--batch-size", "4", "-q"]) == 0
    finally:
        os.umask(umask)
    modes = {str(path.relative_to(model)): oct(path.stat().st_mode & 0o777) for path in model.rglob("*") if path.is_file()}
    assert {"model.safetensors", "checkpoint/model.safetensors", "checkpoint/optimizer.safetensors",
            "lstm-checkpoint/lstm.safetensors"} <= set(modes)
    assert {name: mode for name, mode in modes.items() if mode != oct(0o644)} == {}


@pytest.mark.parametrize("edit,expected", [
    ({"n_layer": 8}, r"model.safetensors: does not match config.json: 'transformer.h.2.\S+' should be .* none"),
    ({"n_layer": 1}, r"model.safetensors: does not match config.json: [0-9]+ weight\(s\) it does not describe"),
    ({"n_embd": 8}, r"model.safetensors: does not match config.json: 'transformer.wte.weight' should be \[\d+, 8\]"),
    ({"n_embd": 7}, r"config.json: unusable GPT-2 config"),  # not a multiple of n_head
    ({"n_layer": 10**5}, r"config.json: n_layer = 100000: BopBot loads a GPT-2 of 1 to 128")])
def test_a_model_whose_config_does_not_match_its_weights_is_refused(tiny_model, tmp_path, edit, expected):
    import shutil

    broken = tmp_path / "edited"
    shutil.copytree(tiny_model, broken, ignore=shutil.ignore_patterns("checkpoint"))
    config = json.loads((broken / "config.json").read_text())
    (broken / "config.json").write_text(json.dumps({**config, **edit}))
    with pytest.raises(BopBotError, match=expected) as raised:
        load_gpt2(broken)
    assert "\n" not in str(raised.value)


@pytest.fixture(scope="module")
def two_frames(tmp_path_factory):
    """A corpus of one dance 2 frames long (3 at 30 fps), and a model folder of 2 words for it."""
    folder = tmp_path_factory.mktemp("two_frames")
    np.save(folder / "short.npy", np.concatenate([_cycling_dancer()[:3], np.ones((3, NUM_JOINTS, 1))], axis=2))
    assert main(["extract", str(folder / "short.npy"), "-o", str(folder / "corpus"), "-q"]) == 0
    assert main(["vocab", str(folder / "corpus"), "-k", "2", "-o", str(folder / "model"), "-q"]) == 0
    return folder / "corpus", folder / "model"


@pytest.mark.parametrize("training", [["--steps", "2"], ["--generator", "lstm", "--steps", "2"],
                                      ["--decoder", "--steps", "2"], ["--generator", "ngram"]])
def test_too_little_dance_is_refused_before_training(two_frames, training, capsys):
    """With 2 frames held out for validation, nothing is left to train on: the GPT-2 trained on 1 word,
    printed 'train loss nan' and exited 0 with NaN in training.json; the LSTM, the decoder and the
    n-gram ended in 'unexpected ...' lines. Each is now refused in one line, and nothing is written."""
    corpus, model = two_frames
    before = sorted(path.name for path in model.iterdir())
    assert main(["train", str(corpus), "--model", str(model), *training, "-q"]) == 1
    said = capsys.readouterr()
    assert said.out == "" and said.err.startswith(f"bopbot: error: {corpus}: training needs at least 2 ")
    assert said.err.endswith("held out for validation; this corpus gives 0 and 1: give it more dance\n" if "lstm" in training
                             else f"this corpus gives {1 if '--decoder' not in training else 0} and 2: give it more dance\n")
    assert sorted(path.name for path in model.iterdir()) == before


def test_a_gpt2_too_big_for_memory_is_refused_before_any_work(two_frames, capsys):
    """128 layers 16,384 wide, within each option's range, are 412 billion parameters, 6.6 TB to train
    with AdamW: it ran until the out-of-memory killer stopped it. Refused by arithmetic (nothing is
    allocated), before the corpus is read."""
    corpus, model = two_frames
    assert main(["train", str(corpus), "--model", str(model), "--n-layer", "128", "--n-embd", "16384",
                 "--n-head", "128", "-q"]) == 1
    said = capsys.readouterr().err
    assert said.startswith("bopbot: error: --n-layer 128 --n-embd 16384 --context 256 --batch-size 16: the GPT-2 "
                           "needs at least 7,9")
    assert "GB for 412,3" in said and "M parameters' weights, gradients and AdamW state" in said
    assert "and this machine has" in said and said.endswith("give a smaller --batch-size, --context, --n-layer or --n-embd\n")
    assert said.count("\n") == 1 and not (model / ".tokens").exists()


@pytest.mark.parametrize("training", [[], ["--generator", "lstm"], ["--decoder"]])
def test_a_batch_too_big_for_memory_is_refused_before_any_work(two_frames, training, capsys):
    """The largest --batch-size allowed, 100,000 windows, asks hundreds of GB for the activations of
    any of the three networks at their default sizes (the decoder's and the LSTM's were stopped by the
    out-of-memory killer, with no word of why). Refused by arithmetic, before the corpus is read."""
    corpus, model = two_frames
    before = sorted(path.name for path in model.iterdir())
    assert main(["train", str(corpus), "--model", str(model), *training, "--batch-size", "100000", "-q"]) == 1
    said = capsys.readouterr().err
    what = {"lstm": "the LSTM", "--decoder": "the word decoder"}.get(training[-1] if training else "", "the GPT-2")
    assert f"{what} needs at least " in said and " GB for a batch's activations), and this machine has " in said
    assert said.count("\n") == 1 and "give a smaller --batch-size" in said
    assert sorted(path.name for path in model.iterdir()) == before


def _kept_floats(run) -> float:
    """How many float32 values autograd keeps for the backward pass while `run()` builds its graph
    (each storage once)."""
    kept = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        kept[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        run()
    return sum(kept.values()) / 4


def test_each_networks_memory_floor_is_below_what_autograd_keeps_and_near_it():
    """The memory check refuses a training only where it surely cannot fit: each network's count of
    the activations a window keeps must not exceed what autograd really keeps, nor fall far below it
    (a check that never refuses checks nothing). Measured on 2 windows, default and other sizes: the
    GPT-2 and the decoder keep 1.2 to 1.7 times their floor, the LSTM up to 3.9 times (on the CPU
    PyTorch keeps more of each step than the gates, cell and output any LSTM needs)."""
    from bopbot.models.decoder import DIMS, DecoderSize
    from bopbot.models.language_model import GPT2Size, new_gpt2
    from bopbot.models.lstm import DIMENSIONS, LSTMSize, PoseLSTM
    from bopbot.models.train_lstm import mdn_loss
    from bopbot.models.train_lstm import window_floats as lstm_floats
    from bopbot.models.train import window_floats as gpt2_floats
    from bopbot.models.train_decoder import WordDecoder
    from bopbot.models.train_decoder import window_floats as decoder_floats

    ratios = {}
    for size in (GPT2Size(), GPT2Size(n_layer=2, n_head=8, n_embd=256, n_positions=128)):
        gpt2 = new_gpt2(size, 300).train()
        ids = torch.randint(0, 300, (2, size.n_positions))
        ratios[str(size)] = _kept_floats(lambda: gpt2(input_ids=ids, labels=ids).loss) / 2 / gpt2_floats(size)
    for size, window in ((DecoderSize(), 120), (DecoderSize(hidden=64, dilations=(1, 2, 4)), 200)):
        decoder = WordDecoder(np.zeros((300, NUM_JOINTS, 2), np.float32), size).train()
        inputs = (torch.randint(0, 300, (2, window)), torch.randn(2, window, DIMS), torch.randn(2, window, 2))
        ratios[str(size)] = _kept_floats(lambda: decoder(*inputs).sum()) / 2 / decoder_floats(size, window)
    for size, window in ((LSTMSize(), 80), (LSTMSize(hidden=64, layers=3, mixtures=2), 40)):
        lstm = PoseLSTM(size).train()
        poses, mask = torch.randn(2, window, DIMENSIONS), torch.ones(2, window, dtype=torch.bool)
        ratios[str(size)] = _kept_floats(lambda: mdn_loss(*lstm(poses)[:3], poses, mask)) / 2 / lstm_floats(size, window)
    assert all(1.0 <= ratio <= 4.5 for ratio in ratios.values()), list(ratios.items())


def test_a_loss_that_is_not_finite_is_never_reported_as_trained():
    from bopbot.models.training import finite_loss

    assert finite_loss(2.5, 1) == 2.5
    for loss in (float("nan"), float("inf")):
        with pytest.raises(BopBotError, match=f"the training loss became {loss} at step 7: the training diverged"):
            finite_loss(loss, 7)
