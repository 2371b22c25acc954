"""The NumPy runtime a dance runs computes what PyTorch and transformers compute: the GPT-2's
next-word distribution (with its key/value cache, across windows, with the music it hears), the
word decoder's movement and the travel model's steps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bopbot.models.decoder import DecoderSize, decoder_shapes, frame_inputs
from bopbot.models.language_model import GPT2Size, load_gpt2, load_gpt2_runtime, new_gpt2, read_gpt2_shape
from bopbot.models.model_folder import DEFAULT_MODEL
from bopbot.models.runtime import gpt2_weight_shapes, layer_norm
from bopbot.models.sampling import Sampling, continue_words
from bopbot.models.train_decoder import WordDecoder, as_decoder
from bopbot.models.train_travel import TravelModel
from bopbot.models.travel import Travel, travel_shapes
from bopbot.vocabulary.vocabulary import PoseVocabulary


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


@pytest.mark.parametrize("folder", ["default", "music"])
def test_the_gpt2_runtime_gives_transformers_next_word_distribution(folder, request):
    """Every position's next-word log-probabilities within 1e-4 of `GPT2LMHeadModel`'s: the prompt
    read at once, then word by word through the cache, for a batch of two (and the music a
    music-aware GPT-2 hears, as its token types)."""
    where = DEFAULT_MODEL if folder == "default" else request.getfixturevalue("tiny_model") / "music"
    model, _ = load_gpt2(where)
    runtime, _ = load_gpt2_runtime(where)
    config = runtime.config
    rng = np.random.default_rng(0)
    words = config.vocab_size - 3 - config.music_inputs
    ids = rng.integers(0, words, size=(2, 40))
    types = rng.integers(words + 3, config.vocab_size, size=(2, 40)) if config.music_inputs else None
    with torch.no_grad():
        expected = model(torch.from_numpy(ids), token_type_ids=None if types is None else torch.from_numpy(types)).logits.numpy()
    cache = runtime.new_cache(2)
    got = [runtime.next_logits(ids[:, :30], cache, None if types is None else types[:, :30])]
    for t in range(30, 40):
        got.append(runtime.next_logits(ids[:, t:t + 1], cache, None if types is None else types[:, t:t + 1]))
    for position, logits in zip([29] + list(range(30, 40)), got):
        assert np.abs(_log_softmax(logits) - _log_softmax(expected[:, position])).max() < 1e-4


def test_greedy_writing_matches_transformers_generate():
    """At a temperature near 0, with the echo and the copy ban off, the runtime's sampling loop
    writes the words `generate()` writes greedily: the same model, the same cache, the same words."""
    model, _ = load_gpt2(DEFAULT_MODEL)
    runtime, _ = load_gpt2_runtime(DEFAULT_MODEL)
    config = runtime.config
    context = np.random.default_rng(1).integers(0, config.vocab_size - 3, size=60)
    with torch.no_grad():
        output = model.generate(torch.from_numpy(context)[None], attention_mask=torch.ones((1, len(context)), dtype=torch.long),
                                max_new_tokens=80, min_new_tokens=80, do_sample=False, pad_token_id=config.pad_token_id,
                                suppress_tokens=[config.eos_token_id, config.pad_token_id, config.vocab_size - 1])
    ours = continue_words(runtime, context, 80, Sampling(temperature=1e-9, echo=0.0, max_copy_seconds=1000.0, seed=0))
    np.testing.assert_array_equal(ours, output[0, len(context):].numpy())


@pytest.mark.parametrize("size", [GPT2Size(n_layer=1, n_head=1, n_embd=8, n_positions=8), GPT2Size()])
def test_the_gpt2_weights_a_config_describes_are_those_transformers_saves(size, tmp_path):
    model = new_gpt2(size, 20, music=size.n_layer == 1)
    model.save_pretrained(tmp_path)
    saved = {name: tuple(t.shape) for name, t in model.state_dict().items() if name != "lm_head.weight"}
    assert gpt2_weight_shapes(read_gpt2_shape(tmp_path)) == saved


def test_the_decoder_runtime_moves_as_the_pytorch_decoder(tiny_model):
    vocabulary = PoseVocabulary.load(tiny_model)
    torch.manual_seed(0)
    network = WordDecoder(vocabulary.centroids_, DecoderSize(hidden=32, embedding=8, dilations=(1, 2, 4)))
    torch.nn.init.normal_(network.write.weight, std=0.1)  # an untrained decoder writes zeros: make it write
    network.eval()
    ids = np.random.default_rng(0).integers(0, vocabulary.k, 90).repeat(2)
    curve, runs = frame_inputs(vocabulary, ids)
    with torch.no_grad():
        expected = network(torch.from_numpy(ids)[None], torch.from_numpy(curve)[None], torch.from_numpy(runs)[None])[0].numpy()
    decoder = as_decoder(network)
    assert {k: v.shape for k, v in decoder.weights.items()} == decoder_shapes(network.size, vocabulary.k)
    got = decoder(ids, curve, runs)
    assert np.abs(got - expected).max() < 1e-4 and np.abs(expected - curve).max() > 0.01


def test_the_travel_runtime_steps_as_the_pytorch_model():
    torch.manual_seed(0)
    network = TravelModel().eval()
    with torch.no_grad():
        network.feature_std.uniform_(0.5, 2.0)
        network.step_std.uniform_(0.5, 2.0)
    features = np.random.default_rng(0).normal(size=(50, network.feature_mean.shape[0])).astype(np.float32)
    with torch.no_grad():
        expected = network(torch.from_numpy(features)).numpy()
    weights = {k: v.numpy().copy() for k, v in network.state_dict().items()}
    assert {k: v.shape for k, v in weights.items()} == travel_shapes()
    assert np.abs(Travel(weights)(features) - expected).max() < 1e-4


def test_the_held_out_log_loss_is_transformers_loss():
    """`bopbot evaluate`'s perplexity, read from the runtime, is the loss `GPT2LMHeadModel` gives
    the same windows (the next-word target shifted inside, as transformers shifts it)."""
    from bopbot.evaluation.evaluate import _gpt2_log_loss

    model, _ = load_gpt2(DEFAULT_MODEL)
    runtime, _ = load_gpt2_runtime(DEFAULT_MODEL)
    sentence = np.random.default_rng(2).integers(0, runtime.config.vocab_size - 3, 400)
    window, total, count, position = runtime.config.n_positions, 0.0, 0, 40
    with torch.no_grad():
        while position < len(sentence):
            stop = min(len(sentence), position + window // 2)
            start = max(0, stop - window)
            chunk = torch.as_tensor(sentence[start:stop])[None]
            labels = chunk.clone()
            labels[:, :position - start] = -100
            scored = stop - max(position, start + 1)
            total += model(input_ids=chunk, labels=labels).loss.item() * scored
            count += scored
            position = stop
    ours = _gpt2_log_loss(runtime, sentence, 40)
    assert ours[1] == count and ours[0] == pytest.approx(total, rel=1e-5)


def test_the_sampling_cuts_top_k_and_top_p_as_transformers_warpers_do():
    """The loop's temperature, top-k and top-p against transformers' own warpers on random scores:
    the same words kept, the same scores. (Ties are left out: at the top-p cut transformers breaks
    them by torch's sort, whose order among equal scores is not defined; top-k keeps every tie.)"""
    from transformers import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

    from bopbot.models.sampling import _warped

    rng = np.random.default_rng(3)
    scores = rng.normal(size=(4, 300)) * 3
    for temperature, top_k, top_p in ((0.7, 0, 1.0), (1.0, 5, 1.0), (1.3, 0, 0.9), (0.8, 40, 0.5)):
        theirs = torch.from_numpy(scores.copy())
        for warper in [TemperatureLogitsWarper(temperature)] + ([TopKLogitsWarper(top_k)] if top_k else []) + \
                ([TopPLogitsWarper(top_p)] if top_p < 1 else []):
            theirs = warper(None, theirs)
        ours = _warped(scores, Sampling(temperature=temperature, top_k=top_k, top_p=top_p))
        np.testing.assert_array_equal(np.isinf(ours), np.isinf(theirs.numpy()))
        np.testing.assert_allclose(ours[~np.isinf(ours)], theirs.numpy()[~np.isinf(ours)])
    tied = np.round(scores, 0)
    np.testing.assert_array_equal(np.isinf(_warped(tied, Sampling(top_k=5))),
                                  np.isinf(TopKLogitsWarper(5)(None, torch.from_numpy(tied)).numpy()))


def test_a_dance_played_slower_than_written_is_checked_for_copies_as_shown():
    """`copies_too_long` (what decides whether `choreograph.write_at_pace` writes again): a copy of
    the user's dance counts for as long as it is shown, not as it was written."""
    from bopbot.models.sampling import copies_too_long

    context = np.repeat(np.arange(50), 2)  # each of the user's words held for two frames
    limit = Sampling()  # 1.5 s, 30 frames
    assert copies_too_long(context, np.repeat(np.arange(10, 30), 2), 1.0, limit)  # 40 frames of it, as it was
    assert not copies_too_long(context, np.arange(10, 30), 1.0, limit)  # twice as fast: not the user's dance
    assert copies_too_long(context, np.arange(10, 30), 0.5, limit)  # ... shown at half speed: 2 s of it
    assert not copies_too_long(context, np.arange(10, 20), 0.5, limit)  # 1 s of it, within the limit


def test_the_layer_norm_gives_the_bits_of_ndarray_mean():
    """The layer norm's means are sums over the count, and equal `ndarray.mean`'s: no dance changes by a bit."""
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(400, 128)) * 3).astype(np.float32)
    weight, bias = rng.normal(size=128).astype(np.float32), rng.normal(size=128).astype(np.float32)
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) * (x - mean)).mean(axis=-1, keepdims=True)
    np.testing.assert_array_equal(layer_norm(x, weight, bias, 1e-5), (x - mean) / np.sqrt(variance + 1e-5) * weight + bias)
