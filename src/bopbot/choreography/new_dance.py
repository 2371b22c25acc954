"""What the model hands back after the user's dance (`choreograph.choreograph`): the new dance's
keypoints and words, and how it met the music.

A module of its own, with nothing heavier than NumPy, because the new dance crosses from the
model's process (`model_process`) to the one that draws it: unpickling it there imports only this.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class NewDance:
    """What the model wrote after the user's dance: the new dance as pixel keypoints on the user's
    canvas, its word ids and words (none for a generator without words)."""

    context_words: int
    ids: np.ndarray | None
    keypoints: np.ndarray
    words: list[str]
    generator: str
    #: The tempo of the music it was danced to (0: none, or no beat found), its beats in the dance,
    #: the eight-counts that start in it and how many of them dance the one before again.
    tempo: float = 0.0
    beats: int = 0
    phrases: int = 0
    repeats: int = 0
    #: How the music's sound carries on, on the beat, past its end (`beats.TrackBeats.sound_loop`):
    #: (splice, start, seconds) in the music file; None without music, or under 5 beats of it.
    music_loop: tuple[float, float, float] | None = None
    #: How long the music is, decoded (a raw AAC file's header can say four times as long).
    music_seconds: float = 0.0
