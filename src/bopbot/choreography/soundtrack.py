"""The music a new dance follows, and the audio its video carries: the input's own sound, or a
song given with it, placed by the layout (`soundtrack`)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from ..data.pose_sequence import CORPUS_FPS
from ..music.audio import MAX_RATE, MIN_RATE, audio_rate
from .render import AudioPiece
from .user_dance import Music, UserDance


def soundtrack(user: UserDance, layout: str, song: str | os.PathLike | None = None,
               song_from_start: bool = False) -> tuple[Music | None, list[AudioPiece]]:
    """The music the new dance follows, and the audio the output carries.

    Without a `song`, the input's own music (a video's sound, a take's song) plays under the whole
    output, and the new dance follows it from where it starts in it: past the end of a clip's sound
    its beats carry on at its tempo. With a `song`, in the `continue` and `skeleton` layouts the clip keeps its own
    sound and the song starts with the new dance, or (`song_from_start`) the song plays from the
    start and the new dance picks it up where the clip ends; in the other layouts, where the new
    dance starts with the video, the song plays from the start.
    """
    one_after_other = layout in ("continue", "skeleton")  # the user's part first, then the new dance
    before = len(user.sequence.keypoints) / CORPUS_FPS if one_after_other else 0.0
    return soundtrack_of(user.audio, user.audio_offset, before, one_after_other, song, song_from_start)


def soundtrack_of(audio: Path | None, audio_offset: float, before: float, one_after_other: bool,
                song: str | os.PathLike | None, song_from_start: bool) -> tuple[Music | None, list[AudioPiece]]:
    """`soundtrack` of a user's dance whose music is `audio` from `audio_offset`, its part of the
    output `before` seconds long."""
    if song is None:
        rate = audio_rate(audio) if audio is not None else None
        if not rate:
            return None, []
        if not MIN_RATE <= rate <= MAX_RATE:
            warnings.warn(f"{audio}: its sound is sampled at {rate:,} Hz, which is no music's; left out")
            return None, []
        return Music(Path(audio), audio_offset + before), [AudioPiece(audio, audio_offset)]
    song = Path(song)
    if not one_after_other or song_from_start:
        return Music(song, before), [AudioPiece(song)]
    under_clip = AudioPiece(audio, audio_offset, before) if audio else AudioPiece(None, 0.0, before)
    return Music(song, 0.0), [under_clip, AudioPiece(song)]
