"""What the trainers (GPT-2, LSTM, travel) share: the device, the held-out split, checkpoints, and the
processes of a distributed run.

Checkpoints hold weights, AdamW moments and progress. Everything is safetensors and JSON (never
pickle), written into a fresh folder that is swapped into place in one step, so a run killed at
any moment leaves either the old checkpoint or the new.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import BopBotError, reason
from ..files import give_usual_mode

OPTIMIZER = "optimizer.safetensors"
STATE = "state.json"


def save_checkpoint(folder: Path, write_weights: Callable[[Path], None], optimizer, state: dict) -> None:
    """Write weights (by `write_weights(into)`), the optimiser's moments and `state` as `folder`."""
    from safetensors.torch import save_file

    fresh = folder.with_name(f".tmp-{folder.name}")
    shutil.rmtree(fresh, ignore_errors=True)
    try:
        fresh.mkdir(parents=True)
        write_weights(fresh)
        moments = {
            f"{index}.{name}": value.detach().cpu().contiguous()
            for index, values in optimizer.state_dict()["state"].items()
            for name, value in values.items()
        }
        save_file(moments, str(fresh / OPTIMIZER))
        (fresh / STATE).write_text(json.dumps(state, indent=2))
        for item in fresh.iterdir():
            give_usual_mode(item)
    except Exception as exc:  # a full disk: safetensors and transformers raise kinds of their own for it
        shutil.rmtree(fresh, ignore_errors=True)
        raise BopBotError(folder, f"cannot write the checkpoint: {reason(exc)}") from None
    stale = folder.with_name(f".tmp-old-{folder.name}")
    if folder.exists():
        os.replace(folder, stale)
    os.replace(fresh, folder)
    shutil.rmtree(stale, ignore_errors=True)


def load_optimizer_state(folder: Path, optimizer, device) -> dict:
    """Restore the optimiser's moments from `folder` onto `device`; return the saved progress."""
    from safetensors.torch import load_file

    state = {"state": {}, "param_groups": optimizer.state_dict()["param_groups"]}
    for key, value in load_file(str(folder / OPTIMIZER)).items():
        index, name = key.split(".", 1)
        state["state"].setdefault(int(index), {})[name] = value if name == "step" else value.to(device)
    optimizer.load_state_dict(state)
    return json.loads((folder / STATE).read_text())


def resumable_checkpoint(checkpoint: Path, size: dict, steps: int, what: str = "a model") -> bool:
    """Whether there is a checkpoint to resume: it must be readable, hold `what` of the same `size`,
    and not be past the `steps` asked for (it cannot be trained back, and finishing silently would
    leave the user thinking it was trained for `steps`)."""
    state_file = checkpoint / STATE
    if not state_file.is_file():
        return False
    try:
        saved = json.loads(state_file.read_text(encoding="utf-8"))
        saved_size, saved_step = saved["size"], int(saved["step"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BopBotError(state_file, f"damaged checkpoint state ({type(exc).__name__}); remove the checkpoint "
                                      "to start over") from None
    if saved_size != size:
        raise BopBotError(checkpoint, f"holds {what} of another size {saved_size}; remove it to start over")
    if saved_step > steps:
        raise BopBotError(checkpoint, f"already trained {saved_step} steps, past the {steps} asked for: give "
                                      f"--steps above {saved_step} to train on, or remove it to start over")
    return True


def is_validation(input_name: str, fraction: float, seed: int) -> bool:
    """Whether an input belongs to the validation split: a stable hash, shared by every trainer and the evaluation.

    `input_name` is the input's path as the corpus was given it, so inputs named relative to the
    project (as `training/*.txt` name them) split the same in every clone, and absolute paths do not.
    """
    digest = hashlib.sha1(f"{seed}:{input_name}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < fraction


def hold_out(splits: dict[bool, list[tuple]], fraction: float) -> tuple[list[tuple], list[tuple]]:
    """(train, validation) dances, each a tuple of per-frame arrays, as `is_validation` dealt them into
    `splits[False]` and `splits[True]`; where a tiny corpus left a side empty, its last dance is held
    out, and a corpus of one dance trains on its start and validates on its end (`fraction` of it,
    a tenth at least, 2 frames at least)."""
    if splits[False] and splits[True]:
        return splits[False], splits[True]
    dances = splits[False] + splits[True]
    if len(dances) > 1:
        return dances[:-1], dances[-1:]
    frames = len(dances[0][0])
    cut = max(0, frames - max(2, round(frames * max(fraction, 0.1))))
    return [tuple(part[:cut] for part in dances[0])], [tuple(part[cut:] for part in dances[0])]


def check_split(folder: Path, what: str, train: int, validation: int, fraction: float, least: int = 2) -> None:
    """A BopBotError, before any training, where either split holds fewer than `least` of `what`
    (words, frames) to train or validate on: a loss over none is NaN or a crash. And a warning where
    holding out whole inputs held out far more or far less than `fraction` of the corpus (a few
    inputs of unequal lengths): the validation figures, or the training, would then rest on little
    without the user knowing it."""
    if min(train, validation) < least:
        raise BopBotError(folder, f"training needs at least {least} {what} to train on and {least} held out for "
                                  f"validation; this corpus gives {train} and {validation}: give it more dance")
    share = validation / (train + validation)
    if fraction > 0 and not fraction / 3 <= share <= max(2 * fraction, fraction + 0.1):
        warnings.warn(f"the validation split holds {share:.0%} of the {what} (asked: {fraction:.0%}): whole inputs are "
                      "held out, and this corpus has too few for a closer split; add inputs, or try another --seed "
                      "or --validation-fraction")


def finite_loss(loss: float, step: int) -> float:
    """`loss`, or a BopBotError where it is NaN or infinite: a training that diverged is never reported as trained
    (and its checkpoint is not written over)."""
    if not math.isfinite(loss):
        raise BopBotError(None, f"the training loss became {loss} at step {step}: the training diverged; "
                                "try a smaller --learning-rate")
    return loss


def required_model_file(path: str | os.PathLike) -> None:
    """A BopBotError where the file `path`, which the model folder must have beside the others it
    has, is missing (the folder is incomplete) or something else is in its place."""
    from ..reading import file_problem

    problem = file_problem(path)
    if problem:
        raise BopBotError(path, "missing: the model folder is incomplete" if problem == "missing" else f"is {problem}")


def optional_model_file(path: Path, what: str) -> bool:
    """Whether the optional model file `path` (`what` it holds) is there: False where it is missing,
    a BopBotError where something else is in its place or it cannot be read."""
    from ..reading import file_problem

    problem = file_problem(path)
    if problem == "missing":
        return False
    if problem:
        raise BopBotError(path, f"is {problem}: {what} should be here")
    return True


#: Bytes each parameter takes in training: float32 weights and gradients, and AdamW's two moments.
TRAINING_BYTES = 16


def check_memory(what: str, parameters: int, window_floats: int, batch_size: int, device, advice: str) -> None:
    """A BopBotError, before any work, where training `what` cannot fit in `device`'s memory: its
    `parameters` take `TRAINING_BYTES` each, and each of a step's `batch_size` windows keeps at least
    `window_floats` float32 activations for the backward pass (each model's own lower bound, held to
    what autograd keeps by tests/test_language_model.py). Such a run otherwise went on until memory
    ran out. Under `torchrun` on CPUs every process of this machine holds the model and its share of
    the batch; on GPUs each process has a GPU of its own."""
    import torch

    world, local = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    if device.type == "cuda":
        memory, where, copies = torch.cuda.get_device_properties(device).total_memory, "this GPU", 1
    else:
        memory, where, copies = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), "this machine", min(local, world)
    weights = copies * parameters * TRAINING_BYTES
    activations = batch_size * copies / world * window_floats * 4
    if weights + activations > memory:
        raise BopBotError(None, f"{what} needs at least {(weights + activations) / 1e9:,.1f} GB to train ({weights / 1e9:,.1f} "
                                f"GB for {parameters / 1e6:,.1f}M parameters' weights, gradients and AdamW state, "
                                f"{activations / 1e9:,.1f} GB for a batch's activations), and {where} has "
                                f"{memory / 1e9:,.1f} GB; {advice}")


def training_device(requested: str):
    """The torch device for `requested`: "auto" means CUDA when present, else the CPU; "cuda" (or
    "cuda:N") where this PyTorch has no such GPU, or any other name, is a BopBotError."""
    import torch

    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(requested)
    except RuntimeError:
        raise BopBotError(None, f"--device must be auto, cpu or cuda[:N], got {requested!r}") from None
    if device.type not in ("cpu", "cuda"):
        raise BopBotError(None, f"--device must be auto, cpu or cuda[:N], got {requested!r}")
    if device.type == "cuda" and not (torch.cuda.is_available() and (device.index or 0) < torch.cuda.device_count()):
        raise BopBotError(None, f"--device {requested}: this machine's PyTorch sees no such GPU "
                                f"({torch.cuda.device_count()} found); use --device cpu")
    return device


@dataclass(frozen=True)
class World:
    """The processes training together: this one's rank, how many, and its rank on this machine.
    One process alone is `World()`; under `torchrun` each gets its own."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Whether this process writes checkpoints, the model and the progress bar."""
        return self.rank == 0


def start_world(requested_device: str):
    """(World, device) for this process: alone, or under `torchrun` (WORLD_SIZE > 1) one of a
    DistributedDataParallel group, NCCL with a GPU each where CUDA is present, gloo on CPUs (where
    each process then takes its share of the cores)."""
    import torch
    import torch.distributed as dist

    size = int(os.environ.get("WORLD_SIZE", "1"))
    device = training_device(requested_device)
    if size == 1:
        return World(), device
    world = World(int(os.environ["RANK"]), size, int(os.environ.get("LOCAL_RANK", "0")))
    if device.type == "cuda":
        device = torch.device("cuda", world.local_rank)
        torch.cuda.set_device(device)
    else:
        local = int(os.environ.get("LOCAL_WORLD_SIZE", str(size)))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local))
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return world, device


def mean_over_world(value: float, world: World) -> float:
    """`value` averaged over every process of `world`."""
    if world.size == 1:
        return value
    import torch
    import torch.distributed as dist

    total = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(total)
    return float(total.item()) / world.size


def wait_for_world(world: World) -> None:
    """Every process of `world` waits here for the others (the main one writing a checkpoint)."""
    if world.size > 1:
        import torch.distributed as dist

        dist.barrier()


def leave_world(world: World) -> None:
    """End this process's part in a distributed run (nothing alone)."""
    if world.size > 1:
        import torch.distributed as dist

        dist.destroy_process_group()
