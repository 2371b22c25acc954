"""What every trainer (GPT-2, LSTM, travel) shares: the device, the held-out split, and checkpoints.

Checkpoints hold weights, AdamW moments and progress. Everything is safetensors and JSON (never
pickle), written into a fresh folder that is swapped into place in one step, so a run killed at
any moment leaves either the old checkpoint or the new.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Callable

OPTIMIZER = "optimizer.safetensors"
STATE = "state.json"


def save_checkpoint(folder: Path, write_weights: Callable[[Path], None], optimizer, state: dict) -> None:
    """Write weights (by `write_weights(into)`), the optimiser's moments and `state` as `folder`."""
    from safetensors.torch import save_file

    fresh = folder.with_name(f".tmp-{folder.name}")
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir(parents=True)
    write_weights(fresh)
    moments = {
        f"{index}.{name}": value.detach().cpu().contiguous()
        for index, values in optimizer.state_dict()["state"].items()
        for name, value in values.items()
    }
    save_file(moments, str(fresh / OPTIMIZER))
    (fresh / STATE).write_text(json.dumps(state, indent=2))
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


def is_validation(input_name: str, fraction: float, seed: int) -> bool:
    """Whether an input belongs to the validation split: a stable hash, shared by every trainer and the evaluation."""
    digest = hashlib.sha1(f"{seed}:{input_name}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < fraction


def training_device(requested: str):
    """The torch device for `requested`: "auto" means CUDA when present, else the CPU."""
    import torch

    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)
