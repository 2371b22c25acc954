"""The travel model's network and its training (PyTorch): see `travel` for what it does and why.

`TravelModel` is the network; `train_travel` fits it on a corpus and writes `travel.safetensors` and
`travel.json` into the model folder. A dance reads them back with `travel.load_travel` and runs them
in NumPy (`runtime.travel_forward`, held to `TravelModel` by `tests/test_runtime.py`).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..data.corpus import Corpus
from ..errors import BopBotError
from ..files import write_tensors, write_text_atomic
from ..vocabulary.vocabulary import PoseVocabulary
from .training import check_split, finite_loss, hold_out, is_validation
from .travel import DESCRIPTION, FEATURES, HIDDEN, OUTPUTS, PLACED, WEIGHTS, WINDOW, hip_steps, window_features


@dataclass
class TravelSettings:
    steps: int = 3000
    batch_size: int = 512
    learning_rate: float = 1e-3
    validation_fraction: float = 0.1
    seed: int = 0


@dataclass
class TravelReport:
    steps: int
    frames: int
    seconds: float
    #: Share of the variance of each output the model explains on the validation inputs (None where
    #: those never vary: hips that hold still).
    validation_r2: dict
    #: What each expected step is multiplied by on the path (see `train_travel`).
    gain: dict


class TravelModel(torch.nn.Module):
    """Features of a pose window -> the hips' next step, in standardised units inside."""

    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(FEATURES, HIDDEN), torch.nn.GELU(),
                                       torch.nn.Linear(HIDDEN, HIDDEN), torch.nn.GELU(),
                                       torch.nn.Linear(HIDDEN, len(OUTPUTS)))
        for name, size in (("feature_mean", FEATURES), ("feature_std", FEATURES), ("step_std", len(OUTPUTS)),
                           ("gain", len(OUTPUTS))):
            self.register_buffer(name, torch.zeros(size) if name == "feature_mean" else torch.ones(size))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """The expected next step (what training fits; `gain` is applied by `travel_path`)."""
        return self.net((features - self.feature_mean) / self.feature_std) * self.step_std


def _examples(corpus: Corpus, mover, settings: TravelSettings, progress: bool):
    """(features, steps) of every dance, as its words moved by `mover` (the folder's
    `decoder.WordMover`) show it, split into (train, validation);
    only steps between frames whose hips and shoulders were both seen (a placement that was measured)."""
    splits = {False: [], True: []}
    vocabulary = mover.vocabulary
    for info, sequences in tqdm(corpus.shards(), total=len(corpus.shard_paths()), desc="reading travel",
                                unit="shard", disable=not progress):
        part = splits[is_validation(info["input"], settings.validation_fraction, settings.seed)]
        for sequence in sequences:
            placed = (sequence.poses[:, PLACED, 2] > 0).all(axis=1)
            measured = placed[1:] & placed[:-1]
            if len(sequence.poses) < WINDOW + 1 or not measured.any():
                continue
            words = mover.movement(vocabulary.encode(sequence.poses))
            part.append((window_features(words)[:-1][measured], hip_steps(sequence.placement)[measured]))
    if not splits[False] + splits[True]:
        raise BopBotError(corpus.folder, "no dance with measured hips to learn travel from")
    parts = hold_out(splits, settings.validation_fraction)
    check_split(corpus.folder, "measured steps", *(sum(len(steps) for _, steps in part) for part in parts),
                settings.validation_fraction)
    return [tuple(np.concatenate(arrays) for arrays in zip(*part)) for part in parts]


def train_travel(corpus_folder: str | os.PathLike, model_folder: str | os.PathLike,
                 settings: TravelSettings = TravelSettings(), progress: bool = True) -> TravelReport:
    """Fit the travel model on the corpus (the folder's vocabulary and word decoder move it, as at
    dance time: train the decoder first) and save it there."""
    from .decoder import WordMover, load_decoder

    model_folder = Path(model_folder)
    vocabulary = PoseVocabulary.load(model_folder)
    mover = WordMover(vocabulary, load_decoder(model_folder, vocabulary))
    (train_x, train_y), (valid_x, valid_y) = _examples(Corpus(corpus_folder), mover, settings, progress)
    torch.manual_seed(settings.seed)
    model = TravelModel()
    model.feature_mean.copy_(torch.from_numpy(train_x.mean(axis=0)))
    model.feature_std.copy_(torch.from_numpy(train_x.std(axis=0) + 1e-6))
    model.step_std.copy_(torch.from_numpy(train_y.std(axis=0) + 1e-9))
    inputs, targets = torch.from_numpy(train_x), torch.from_numpy(train_y)
    optimizer = torch.optim.AdamW(model.net.parameters(), lr=settings.learning_rate)
    rng = np.random.default_rng(settings.seed)
    started = time.monotonic()
    for step in tqdm(range(settings.steps), desc="training travel", unit="step", disable=not progress):
        rows = torch.from_numpy(rng.integers(0, len(inputs), settings.batch_size))
        loss = (((model(inputs[rows]) - targets[rows]) / model.step_std) ** 2).mean()
        finite_loss(loss.item(), step + 1)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        predicted = model(torch.from_numpy(valid_x)).numpy()
    # None where the validation dances' hips never move that way: there is nothing to explain
    r2 = {name: float(1 - ((valid_y[:, i] - predicted[:, i]) ** 2).mean() / valid_y[:, i].var())
          if valid_y[:, i].var() > 0 else None for i, name in enumerate(OUTPUTS)}
    # an expected step is shorter than a real one (the uncertain part averages out): scale the path
    # so that its mean speed is the real one on the validation inputs
    moved = np.linalg.norm(valid_y[:, :2], axis=1).mean() / max(np.linalg.norm(predicted[:, :2], axis=1).mean(), 1e-12)
    zoomed = np.abs(valid_y[:, 2]).mean() / max(np.abs(predicted[:, 2]).mean(), 1e-12)
    model.gain.copy_(torch.tensor([moved, moved, zoomed], dtype=torch.float32))
    report = TravelReport(settings.steps, len(train_x), time.monotonic() - started, r2,
                          {name: float(g) for name, g in zip(OUTPUTS, model.gain)})
    write_tensors(model_folder / WEIGHTS, {k: v.detach().contiguous() for k, v in model.state_dict().items()})
    write_text_atomic(model_folder / DESCRIPTION, json.dumps(
        {"window": WINDOW, "hidden": HIDDEN, "outputs": list(OUTPUTS), "settings": asdict(settings),
         "report": asdict(report)}, indent=2))
    return report
