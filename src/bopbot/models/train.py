"""Training the GPT-2 on dance sentences: one loop a reader can hold in their head (nanoGPT-style).

The corpus is encoded with the model folder's pose vocabulary; each dance becomes a sentence and
`<eod>` separates dances. Whole inputs (every camera view of a mocap take together) go to either
the training or the validation split, so validation perplexity is measured on dances the model
never saw from any angle. Checkpoints (weights, AdamW state, step) are safetensors and JSON, each
written atomically into `checkpoint/`; a run finds it and resumes where it stopped.

The music-aware GPT-2 (`music=True`, written to the folder's `music/`) learns from every dance
with its music: each word comes with the music of the frame after it (`language_model`). The
dances that have a song are first played on its beat (`retime.beat_warp`, the bounded warp
`bopbot dance` uses), because as recorded their stops do not fall on the beats measurably more
often than by chance (the evaluation's shifted-music null: 0.236 against 0.267 for the real
held-out takes), and a model can only learn an alignment its examples show. Dances without a
song hear `<no-music>` and keep their own time.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..data.corpus import Corpus
from ..data.pose_sequence import CORPUS_FPS
from ..errors import BopBotError, reason
from ..files import give_usual_mode, make_folder, write_npy, write_text_atomic
from ..vocabulary.vocabulary import PoseVocabulary
from .language_model import GPT2Size, make_tokenizer, new_gpt2, quiet_transformers
from .training import (
    check_memory,
    check_split,
    finite_loss,
    hold_out,
    is_validation,
    leave_world,
    load_optimizer_state,
    mean_over_world,
    resumable_checkpoint,
    save_checkpoint,
    start_world,
    wait_for_world,
)

CHECKPOINT = "checkpoint"
#: The encoded corpus while training runs, memory-mapped by every process (removed at the end).
TOKENS = ".tokens"


@dataclass
class TrainSettings:
    """How long and how fast to train."""

    steps: int = 1500
    batch_size: int = 16
    learning_rate: float = 2e-3
    warmup: int = 100
    weight_decay: float = 0.1
    eval_every: int = 250
    eval_batches: int = 16
    validation_fraction: float = 0.1
    seed: int = 0
    device: str = "auto"


@dataclass
class TrainReport:
    steps: int
    train_tokens: int
    validation_tokens: int
    train_loss: float
    validation_loss: float
    validation_perplexity: float
    seconds: float
    tokens_per_second: float
    learning_rate: float
    batch_size: int
    warmup: int
    weight_decay: float
    #: How many processes trained together (torchrun), 1 alone.
    processes: int = 1


def on_the_beat(sequence) -> tuple[np.ndarray, np.ndarray]:
    """(poses, music) of a corpus dance for the music-aware GPT-2: with a song, the poses played on
    its beat and the (T, 2) beat phase and onset of each frame; without, as they are and silence."""
    from ..music.beats import music_beats, music_frames
    from ..music.retime import beat_warp, play

    poses, frames = sequence.poses, len(sequence.poses)
    audio = sequence.meta.get("audio")
    if not audio:
        return poses, music_frames(None, 0.0, frames)
    track, start = music_beats(audio), float(sequence.meta.get("audio_offset", 0.0))
    poses = play(poses, beat_warp(poses, track.between(start, frames / CORPUS_FPS), frames, CORPUS_FPS))
    return poses, music_frames(track, start, frames)


def encode_corpus(corpus: Corpus, vocabulary: PoseVocabulary, fraction: float, seed: int,
                  progress: bool = True, music: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Every corpus dance as word ids, `<eod>` after each; split by input into (train, validation).
    With `music`, (N, 2): each word id and the music token of the frame after it (`on_the_beat`)."""
    from .language_model import music_input_ids

    eod = vocabulary.k
    silence = music_input_ids(np.array([[np.nan, 0.0]]), vocabulary.k)
    splits: dict[bool, list[tuple[np.ndarray]]] = {False: [], True: []}
    shards = corpus.shard_paths()
    for info, sequences in tqdm(corpus.shards(), total=len(shards), desc="encoding", unit="shard", disable=not progress):
        target = splits[is_validation(info["input"], fraction, seed)]
        for sequence in sequences:
            if not (sequence.poses[:, :, 2] > 0).any():
                continue
            if not music:
                target.append((np.append(vocabulary.encode(sequence.poses), eod),))
                continue
            poses, heard = on_the_beat(sequence)
            target.append((np.stack([np.append(vocabulary.encode(poses), eod),
                                     np.append(music_input_ids(heard, vocabulary.k), silence)], axis=1),))
    if not splits[False] + splits[True]:
        raise BopBotError(corpus.folder, "no dance with a dancer in it to train on")
    encoded = [np.concatenate([words for words, in part]).astype(np.int64) for part in hold_out(splits, fraction)]
    check_split(corpus.folder, "words", len(encoded[0]), len(encoded[1]), fraction)
    if music:  # each word hears the frame it is followed by
        for tokens in encoded:
            tokens[:, 1] = np.append(tokens[1:, 1], silence)
    return tuple(encoded)


def random_windows(tokens: np.ndarray, block: int, size: int, rng: np.random.Generator):
    """`size` random windows of `block` consecutive ids, as a (size, block) tensor ((size, block, 2)
    for words with their music)."""
    import torch

    block = min(block, len(tokens))
    starts = rng.integers(0, len(tokens) - block + 1, size)
    return torch.from_numpy(np.stack([tokens[s:s + block] for s in starts]))


def next_word_loss(model, windows):
    """Mean cross-entropy of every word of `windows` given the words before it.

    Hugging Face's causal language models shift the labels themselves (position t's logits are
    scored against label t + 1), so the labels are the inputs, unshifted; shifting them here
    would train the model on the word after next. Windows of (word, music) pairs give the music
    as GPT-2's token types.
    """
    if windows.ndim == 3:
        return model(input_ids=windows[..., 0], token_type_ids=windows[..., 1], labels=windows[..., 0]).loss
    return model(input_ids=windows, labels=windows).loss


def _learning_rate(step: int, settings: TrainSettings) -> float:
    """Linear warm-up, then cosine decay to a tenth."""
    if step < settings.warmup:
        return settings.learning_rate * (step + 1) / settings.warmup
    progress = (step - settings.warmup) / max(1, settings.steps - settings.warmup)
    return settings.learning_rate * (0.1 + 0.45 * (1 + math.cos(math.pi * min(progress, 1.0))))


def evaluate_loss(model, tokens: np.ndarray, block: int, batches: int, batch_size: int, device, seed: int = 1234) -> float:
    """Mean next-word cross-entropy on fixed random windows of `tokens`."""
    import torch

    model.eval()
    rng = np.random.default_rng(seed)
    losses = []
    with torch.no_grad():
        for _ in range(batches):
            windows = random_windows(tokens, block, batch_size, rng).to(device)
            losses.append(next_word_loss(model, windows).item())
    model.train()
    return float(np.mean(losses))


def _save_checkpoint(folder: Path, model, optimizer, state: dict) -> None:
    """Weights, AdamW moments and progress, swapped into place as one folder."""
    save_checkpoint(folder, lambda into: model.save_pretrained(into, safe_serialization=True), optimizer, state)


def _load_checkpoint(folder: Path, model, optimizer) -> dict:
    from transformers import GPT2LMHeadModel

    trained = GPT2LMHeadModel.from_pretrained(folder, use_safetensors=True)
    model.load_state_dict(trained.state_dict())
    return load_optimizer_state(folder, optimizer, next(model.parameters()).device)


def window_floats(size: GPT2Size) -> int:
    """At least how many float32 activations one training window of the GPT-2 keeps for the backward
    pass: in each layer 34 per position and channel (attention's and the four-times-wider MLP's
    inputs, the norms, the dropout masks) and 2 per head and pair of positions (the attention
    weights and their dropout)."""
    positions = size.n_positions
    return size.n_layer * (34 * positions * size.n_embd + 2 * size.n_head * positions * positions)


def _check_fits(size: GPT2Size, words: int, music: bool, batch_size: int, device) -> None:
    """A BopBotError where the GPT-2 and a batch's activations cannot fit in `device`'s memory."""
    import torch

    with torch.device("meta"):  # its parameters counted, none allocated
        parameters = sum(p.numel() for p in new_gpt2(size, words, music).parameters())
    check_memory(f"--n-layer {size.n_layer} --n-embd {size.n_embd} --context {size.n_positions} --batch-size "
                 f"{batch_size}: the GPT-2", parameters, window_floats(size), batch_size, device,
                 "give a smaller --batch-size, --context, --n-layer or --n-embd")


def train(corpus_folder: str | os.PathLike, model_folder: str | os.PathLike, size: GPT2Size = GPT2Size(),
          settings: TrainSettings = TrainSettings(), progress: bool = True, music: bool = False) -> TrainReport:
    """Train (or resume training) the GPT-2 in `model_folder` on the corpus; save it there (the
    music-aware one, `music`, in its `music/`).

    Under `torchrun` the processes train one model with DistributedDataParallel: every step's
    `batch_size` windows are drawn as by one process and dealt out among them, so the run follows
    the one-process loss curve and a checkpoint resumes under any number of processes.
    """
    import torch

    from .generators import MUSIC_FOLDER

    quiet_transformers()
    world, device = start_world(settings.device)
    if settings.batch_size % world.size:
        raise BopBotError(None, f"--batch-size {settings.batch_size} must divide among the {world.size} processes")
    vocabulary = PoseVocabulary.load(model_folder)
    model_folder = Path(model_folder) / MUSIC_FOLDER if music else Path(model_folder)
    checkpoint = model_folder / CHECKPOINT
    resuming = resumable_checkpoint(checkpoint, size.to_json(), settings.steps)  # before the corpus is encoded
    _check_fits(size, vocabulary.k, music, settings.batch_size, device)
    tokens_folder = model_folder / TOKENS
    if world.main:
        encoded = encode_corpus(Corpus(corpus_folder), vocabulary, settings.validation_fraction, settings.seed,
                                progress, music)
        make_folder(tokens_folder)
        for name, tokens in zip(("train", "validation"), encoded):
            write_npy(tokens_folder / f"{name}.npy", tokens)
    wait_for_world(world)
    train_tokens, validation_tokens = (np.load(tokens_folder / f"{name}.npy", mmap_mode="r")
                                       for name in ("train", "validation"))
    torch.manual_seed(settings.seed)
    model = new_gpt2(size, vocabulary.k, music).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, betas=(0.9, 0.95),
                                  weight_decay=settings.weight_decay)
    state = {"step": 0, "size": size.to_json(), "settings": asdict(settings), "seconds": 0.0, "tokens": 0,
             "losses": []}
    if resuming:
        state = {"losses": [], **_load_checkpoint(checkpoint, model, optimizer)}
        state["settings"] = asdict(settings)
    learner = torch.nn.parallel.DistributedDataParallel(model) if world.size > 1 else model
    block = size.n_positions
    model.train()
    started = time.monotonic() - state["seconds"]
    bar = tqdm(total=settings.steps, initial=state["step"], desc="training", unit="step",
               disable=not progress or not world.main)
    loss_value = float("nan")
    while state["step"] < settings.steps:
        step = state["step"]
        for group in optimizer.param_groups:
            group["lr"] = _learning_rate(step, settings)
        windows = random_windows(train_tokens, block, settings.batch_size, np.random.default_rng([settings.seed, step]))
        loss = next_word_loss(learner, windows[world.rank::world.size].to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        loss_value = finite_loss(mean_over_world(loss.item(), world), step + 1)
        state["step"] = step + 1
        state["tokens"] += windows.shape[0] * windows.shape[1]
        state["losses"].append(round(loss_value, 6))
        bar.update(1)
        bar.set_postfix(loss=f"{loss_value:.3f}")
        if state["step"] % settings.eval_every == 0 or state["step"] == settings.steps:
            state["train_loss"] = loss_value
            state["seconds"] = time.monotonic() - started
            if world.main:  # the others wait: they would only measure the same windows again
                state["validation_loss"] = evaluate_loss(model, validation_tokens, block, settings.eval_batches,
                                                         settings.batch_size, device)
                bar.write(f"step {state['step']}: train loss {loss_value:.3f}, validation loss "
                          f"{state['validation_loss']:.3f} (perplexity {math.exp(state['validation_loss']):.1f})")
                _save_checkpoint(checkpoint, model, optimizer, state)
            wait_for_world(world)
    bar.close()
    validation_loss = state.get("validation_loss", float("nan"))
    report = TrainReport(
        steps=state["step"], train_tokens=len(train_tokens), validation_tokens=len(validation_tokens),
        train_loss=state.get("train_loss", loss_value), validation_loss=validation_loss,
        validation_perplexity=math.exp(validation_loss), seconds=state["seconds"],
        tokens_per_second=state["tokens"] / max(state["seconds"], 1e-9),
        learning_rate=settings.learning_rate, batch_size=settings.batch_size, warmup=settings.warmup,
        weight_decay=settings.weight_decay, processes=world.size,
    )
    if world.main:
        export_model(model, vocabulary, model_folder)
        write_text_atomic(model_folder / "training.json", json.dumps(asdict(report), indent=2))
    wait_for_world(world)
    if world.main:
        shutil.rmtree(tokens_folder, ignore_errors=True)
    leave_world(world)
    return report


def export_model(model, vocabulary: PoseVocabulary, folder: Path) -> None:
    """Write the trained GPT-2 and its tokenizer at the top of the model folder."""
    staging = folder / ".tmp-export"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        model.save_pretrained(staging, safe_serialization=True)
        make_tokenizer(vocabulary.words_, music=bool(getattr(model.config, "music_inputs", 0))).save_pretrained(staging)
    except Exception as exc:  # a full disk: transformers and safetensors raise kinds of their own for it
        shutil.rmtree(staging, ignore_errors=True)
        raise BopBotError(folder, f"cannot write the trained GPT-2: {reason(exc)}") from None
    for item in staging.iterdir():
        give_usual_mode(item)  # safetensors writes model.safetensors for its owner alone, unlike every other file
        os.replace(item, folder / item.name)
    staging.rmdir()
