"""What `bopbot evaluate` generates and how it measures the noise: its settings, apart from the
evaluation itself so that `bopbot evaluate --help` shows their defaults without importing it (SciPy,
the models: a second)."""

from __future__ import annotations

from dataclasses import dataclass

from ..models.sampling import Sampling


@dataclass(frozen=True)
class EvalSettings:
    """What is generated, how it is sampled, and how the noise is measured."""

    context_seconds: float = 8.0
    seconds: float = 10.0
    min_context_seconds: float = 4.0
    yaws: tuple[float, ...] = (0.0, 90.0, 180.0, 270.0)
    #: The 3D takes filmed by cameras that turn with the dancer (`mocap.VirtualCamera.follow`):
    #: `yaws` are then measured from where the dancer faces, the views phone users film.
    follow: bool = False
    seeds: int = 3
    pool_stretches: int = 2000
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    echo: float = Sampling.echo
    validation_fraction: float = 0.1
    split_seed: int = 0
    resamples: int = 1000
