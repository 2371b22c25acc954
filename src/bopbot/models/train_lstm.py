"""Training the LSTM generator (`lstm.py` holds the model, its loading and sampling): teacher
forcing on windows of the corpus's normalised poses, the mixture's negative log-likelihood as the loss.

Measured on the full training corpus (774k frames) on 2 CPU cores: the defaults train in about
3.5 minutes to a validation NLL of -107.6 (a single Gaussian around constant-velocity
extrapolation scores -85). Sampled 20 s from 25 real contexts at temperature 1, the torso length
stays within 0.90-1.07 and every joint within 2.4 torso lengths of the hip; at temperature 0.5-0.75 joints move about
as fast as in real dances (0.5-0.6 torso lengths/s against 0.6-0.9) with some extra jitter, at
temperature 1 about 1.5 times as fast and twice as jittery. Towards 0 the dance slows down.

The folder gets `lstm.safetensors` (weights and normalisation stats) and `lstm.json` (size,
settings, report, window), each written atomically; `lstm-checkpoint/` holds the weights, the
AdamW state and the progress, and a run that finds it resumes where it stopped.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..data.corpus import Corpus
from ..data.pose_sequence import CORPUS_FPS
from ..errors import BopBotError
from ..files import write_tensors, write_text_atomic
from .lstm import DESCRIPTION, DIMENSIONS, WEIGHTS, LSTMSize, PoseLSTM, fill_missing
from .training import (check_memory, check_split, finite_loss, hold_out, is_validation, load_optimizer_state,
                       resumable_checkpoint, save_checkpoint, training_device)

CHECKPOINT = "lstm-checkpoint"


@dataclass
class LSTMSettings:
    """How long and how fast to train the LSTM."""

    steps: int = 3000
    batch_size: int = 32
    window_seconds: float = 4.0
    learning_rate: float = 5e-3
    eval_every: int = 250
    eval_batches: int = 8
    validation_fraction: float = 0.1
    seed: int = 0
    device: str = "auto"
    input_noise: float = 0.05

    @property
    def window(self) -> int:
        """Training window in frames."""
        return max(2, round(self.window_seconds * CORPUS_FPS))


@dataclass
class LSTMReport:
    """What a training run reached: losses are mean NLL per frame (nats), seconds exclude reading the corpus."""

    steps: int
    train_loss: float
    validation_loss: float
    seconds: float
    frames_per_second: float


def window_floats(size: LSTMSize, window: int) -> int:
    """At least how many float32 activations one training window of `window` frames keeps for the
    backward pass: in each layer 6 per frame and hidden unit (the four gates, the cell and its
    output), and 4 per frame and value of each mixture's mean (the head's output, the standardised
    distance, its square and the scale)."""
    return window * (6 * size.layers * size.hidden + 4 * size.mixtures * DIMENSIONS)


def mdn_loss(logit_pi: torch.Tensor, mu: torch.Tensor, log_sigma: torch.Tensor, target: torch.Tensor,
             mask: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood per frame of `target` (B, T, 34), over frames where `mask` (B, T)."""
    z = (target.unsqueeze(2) - mu) * torch.exp(-log_sigma)
    log_gauss = -0.5 * (z * z).sum(-1) - log_sigma.sum(-1) - 0.5 * DIMENSIONS * math.log(2 * math.pi)
    log_likelihood = torch.logsumexp(torch.log_softmax(logit_pi, dim=-1) + log_gauss, dim=-1)
    mask = mask.to(log_likelihood.dtype)
    return -(log_likelihood * mask).sum() / mask.sum().clamp(min=1.0)


@dataclass
class _Frames:
    """One split as a stream of frames: inputs (N, 34) and whether each frame may be scored as a target."""

    xy: np.ndarray
    scored: np.ndarray


def _read_splits(corpus: Corpus, fraction: float, seed: int) -> tuple[_Frames, _Frames]:
    """Every dance of the corpus as frames, split by input into (train, validation)."""
    splits: dict[bool, list[tuple[np.ndarray, np.ndarray]]] = {False: [], True: []}
    for info, sequences in corpus.shards():
        target = splits[is_validation(info["input"], fraction, seed)]
        for sequence in sequences:
            xy, complete = fill_missing(sequence.poses, None)
            if complete.any():
                complete[0] = False  # the frame before it belongs to another dance
                target.append((xy, complete))
    if not splits[False] + splits[True]:
        raise BopBotError(corpus.folder, "no dance with a whole dancer in it to train on")
    parts = hold_out(splits, fraction)
    check_split(corpus.folder, "frames of the whole dancer (a dance's first aside)",
                *(sum(int(ok[1:].sum()) for _, ok in part) for part in parts), fraction)
    return tuple(_Frames(np.concatenate([xy for xy, _ in part]), np.concatenate([ok for _, ok in part])) for part in parts)


def _statistics(frames: _Frames) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean and standard deviation (floored) of the complete frames."""
    complete = frames.xy[frames.scored]
    return complete.mean(axis=0), np.maximum(complete.std(axis=0), 1e-2)


def _fill_with_mean(frames: _Frames, mean: np.ndarray) -> None:
    """Joints missing since a dance began take the mean pose's value."""
    gaps = np.isnan(frames.xy)
    frames.xy[gaps] = np.broadcast_to(mean, frames.xy.shape)[gaps]


def _batch(frames: _Frames, window: int, size: int, rng: np.random.Generator):
    """`size` random windows: inputs (B, W, 34), next-frame targets (B, W, 34) and target mask (B, W)."""
    window = min(window, len(frames.xy) - 1)
    starts = rng.integers(0, len(frames.xy) - window, size)
    take = starts[:, None] + np.arange(window)[None, :]
    return (torch.from_numpy(frames.xy[take]), torch.from_numpy(frames.xy[take + 1]),
            torch.from_numpy(frames.scored[take + 1]))


def _learning_rate(step: int, settings: LSTMSettings) -> float:
    """Cosine decay from the learning rate to a tenth of it."""
    progress = min(step / max(1, settings.steps), 1.0)
    return settings.learning_rate * (0.1 + 0.45 * (1 + math.cos(math.pi * progress)))


def _evaluate(model: PoseLSTM, frames: _Frames, window: int, batches: int, batch_size: int, device,
                  seed: int = 1234) -> float:
    """Mean next-frame NLL on fixed random windows of `frames`."""
    model.eval()
    rng = np.random.default_rng(seed)
    losses = []
    with torch.no_grad():
        for _ in range(batches):
            x, y, mask = (t.to(device) for t in _batch(frames, window, batch_size, rng))
            logit_pi, mu, log_sigma, _ = model(x)
            losses.append(mdn_loss(logit_pi, mu, log_sigma, y, mask).item())
    model.train()
    return float(np.mean(losses))


def _save_checkpoint(folder: Path, model: PoseLSTM, optimizer, state: dict) -> None:
    """Weights (with the statistics), AdamW moments and progress, swapped into place as one folder."""
    from safetensors.torch import save_file

    save_checkpoint(folder, lambda into: save_file(_tensors(model), str(into / WEIGHTS)), optimizer, state)


def _load_checkpoint(folder: Path, model: PoseLSTM, optimizer) -> dict:
    """Restore weights, statistics and AdamW state from `folder`; return the saved progress."""
    from safetensors.torch import load_file

    device = next(model.parameters()).device
    model.load_state_dict(load_file(str(folder / WEIGHTS), device=str(device)))
    return load_optimizer_state(folder, optimizer, device)


def _tensors(model: PoseLSTM) -> dict[str, torch.Tensor]:
    return {name: value.detach().cpu().contiguous() for name, value in model.state_dict().items()}


def train_lstm(corpus_folder: str | os.PathLike, model_folder: str | os.PathLike, size: LSTMSize = LSTMSize(),
               settings: LSTMSettings = LSTMSettings(), progress: bool = True) -> LSTMReport:
    """Train (or resume training) the pose LSTM on the corpus; save it into `model_folder`."""
    model_folder = Path(model_folder)
    checkpoint = model_folder / CHECKPOINT
    resuming = resumable_checkpoint(checkpoint, asdict(size), settings.steps, "an LSTM")  # before the corpus is read
    device = training_device(settings.device)
    with torch.device("meta"):  # counted, not allocated
        parameters = sum(p.numel() for p in PoseLSTM(size).parameters())
    check_memory("the LSTM", parameters, window_floats(size, settings.window), settings.batch_size, device,
                 "give a smaller --batch-size")
    train_frames, validation_frames = _read_splits(Corpus(corpus_folder), settings.validation_fraction, settings.seed)
    mean, std = _statistics(train_frames)
    for frames in (train_frames, validation_frames):
        _fill_with_mean(frames, mean)
    torch.manual_seed(settings.seed)
    model = PoseLSTM(size)
    model.mean.copy_(torch.from_numpy(mean))
    model.std.copy_(torch.from_numpy(std))
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=0.0)
    state = {"step": 0, "size": asdict(size), "settings": asdict(settings), "seconds": 0.0, "frames": 0}
    if resuming:
        state = _load_checkpoint(checkpoint, model, optimizer)
        state["settings"] = asdict(settings)
    window = settings.window
    noise_scale = settings.input_noise * model.std.cpu().numpy()
    model.train()
    started = time.monotonic() - state["seconds"]
    bar = tqdm(total=settings.steps, initial=state["step"], desc="training LSTM", unit="step", disable=not progress)
    recent: list[float] = []
    while state["step"] < settings.steps:
        step = state["step"]
        for group in optimizer.param_groups:
            group["lr"] = _learning_rate(step, settings)
        rng = np.random.default_rng([settings.seed, step])
        x, y, mask = _batch(train_frames, window, settings.batch_size, rng)
        noise = rng.standard_normal(x.shape, dtype=np.float32) * noise_scale
        x, y, mask = (x + torch.from_numpy(noise)).to(device), y.to(device), mask.to(device)
        logit_pi, mu, log_sigma, _ = model(x)
        loss = mdn_loss(logit_pi, mu, log_sigma, y, mask)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        recent.append(finite_loss(loss.item(), step + 1))
        state["step"] = step + 1
        state["frames"] += int(mask.numel())
        bar.update(1)
        bar.set_postfix(loss=f"{recent[-1]:.2f}")
        if state["step"] % settings.eval_every == 0 or state["step"] == settings.steps:
            state["validation_loss"] = _evaluate(model, validation_frames, window, settings.eval_batches,
                                                     settings.batch_size, device)
            state["train_loss"] = float(np.mean(recent))
            recent = []
            state["seconds"] = time.monotonic() - started
            bar.write(f"step {state['step']}: train NLL {state['train_loss']:.2f}, "
                      f"validation NLL {state['validation_loss']:.2f}")
            _save_checkpoint(checkpoint, model, optimizer, state)
    bar.close()
    report = LSTMReport(
        steps=state["step"], train_loss=state.get("train_loss", float("nan")),
        validation_loss=state.get("validation_loss", float("nan")), seconds=state["seconds"],
        frames_per_second=state["frames"] / max(state["seconds"], 1e-9),
    )
    export_lstm(model, size, settings, report, model_folder)
    return report


def export_lstm(model: PoseLSTM, size: LSTMSize, settings: LSTMSettings, report: LSTMReport, folder: Path) -> None:
    """Write `lstm.safetensors` and `lstm.json` into the model folder, each atomically."""
    write_tensors(folder / WEIGHTS, _tensors(model))
    description = {"fps": CORPUS_FPS, "window": settings.window, "size": asdict(size),
                   "settings": asdict(settings), "report": asdict(report)}
    write_text_atomic(folder / DESCRIPTION, json.dumps(description, indent=2))
