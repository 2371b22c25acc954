"""Training checkpoints shared by the GPT-2 and the LSTM: weights, AdamW moments and progress.

Everything is safetensors and JSON (never pickle), written into a fresh folder that is swapped
into place in one step, so a run killed at any moment leaves either the old checkpoint or the new.
"""

from __future__ import annotations

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
