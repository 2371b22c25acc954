"""The new dance: the user's dance encoded as words, continued by the generator, played at the
user's pace, joined onto the user's canvas without a jump, travelling on as the user travelled,
and played on the music's beat, in its phrases."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..data.motion import SMOOTHING_SECONDS, smooth, smoothstep_frames
from ..data.normalise import denormalise, normalise
from ..data.pose_sequence import CORPUS_FPS
from ..errors import BopBotError
from ..models.model_folder import Choreographer
from ..models.sampling import Sampling
from ..models.travel import travel_path, user_speed
from .framing import keep_in_frame
from .new_dance import NewDance
from .pace import Pace, at_pace
from .user_dance import Music, UserDance

#: How long the new dance takes to hand over from the user's motion to its own (the poses: at least this).
HANDOVER_SECONDS = 0.5
#: The longest the poses take to hand over, however far the new dance starts from the user's pose.
LONGEST_HANDOVER_SECONDS = 3.0
#: Each frame of the handover, the user's carried-on velocity keeps this share of the last.
CARRY_DECAY = 0.8
#: A dance played at a rate (written frames per shown frame) in this range is not written again for
#: the copy limit: its copies of the context last, as shown, within a quarter of what was written.
RATE_WRITTEN_AS_SHOWN = (0.8, 1.25)
#: With a song and no `seconds`, the new dance lasts the rest of the song, up to this many seconds.
MAX_SONG_SECONDS = 60.0
#: ... and at least this many: a clip's own sound ends with the clip, and the rest of it, a few
#: hundredths of a second, made a dance of one frame.
MIN_SONG_SECONDS = 1.0


def choreograph(choreographer: Choreographer, user: UserDance, seconds: float | None, sampling: Sampling,
                music: Music | None = None) -> NewDance:
    """Encode the user's dance as words, let the generator continue it for `seconds`, play what it
    wrote at the user's pace (`pace`), put the new dance on the user's canvas (`continue_on_canvas`),
    and play it on the beat of the `music` (`retime`), each second eight-count dancing the first
    again (`phrase_repeats`). The generator writes a little more than is
    shown, for the pace or the warp to draw on. On a song the beat sets the pace: a dance slowed to a
    gentle user's pace has too few stops to put on a quick song's beats (the test model on a click
    track at 120 bpm, paced: Beat Align 0.34 against its null's 0.16, short of the 0.2 above it
    that `tests/test_music.py` asks). The generator
    hears the music too (only `gpt2-music` listens): the user's dance hears what of the song lies
    before the new dance's start, silence before the song. With music, `seconds` None is the rest
    of the song (`MIN_SONG_SECONDS` at least, `MAX_SONG_SECONDS` at most)."""
    from ..music.beats import music_beats, music_frames
    from ..music.retime import beat_warp, play

    track = music_beats(str(music.path)) if music is not None else None
    if seconds is None:
        if track is None:
            raise BopBotError(None, "say how many --seconds to dance: there is no song to last")
        seconds = min(track.seconds - music.start, MAX_SONG_SECONDS)
        if not seconds > 0 and track.cut:
            raise BopBotError(music.path, f"only the song's first {track.seconds:.0f} s are heard, and the new "
                                          f"dance starts {music.start:.0f} s in: say how many --seconds to dance")
        if not seconds > 0:
            raise BopBotError(music.path, f"the song is {track.seconds:.1f} s long: it ends before the new "
                                          "dance starts")
        if seconds < MIN_SONG_SECONDS:
            raise BopBotError(music.path, f"the song ends {seconds:.2f} s after the new dance starts, too soon "
                                          "to dance to: say how many --seconds to dance")
    count = max(1, round(seconds * CORPUS_FPS))
    beats = track.between(music.start, count / CORPUS_FPS) if track is not None else np.zeros(0)
    vocabulary = choreographer.vocabulary
    context = vocabulary.encode(user.poses)
    pace = Pace(count, on_beat=len(beats) > 0)  # on a song, the beat sets the pace
    phrases = track.phrase_starts(music.start, pace.written / CORPUS_FPS) if len(beats) else np.zeros(0)
    if choreographer.generator.repeats_phrases:
        sampling = replace(sampling, repeats=phrase_repeats(phrases, pace.written))
    heard = (music_frames(track, music.start - len(user.poses) / CORPUS_FPS, len(user.poses) + pace.written)
             if track is not None else None)
    (new, times), = write_at_pace(choreographer.generator, [user.poses], pace, sampling, [heard])
    keypoints = continue_on_canvas(vocabulary, choreographer.travel, user.poses, user.placement,
                                   at_pace(new.poses, times), user.sequence.size, context, new.low_pass)
    loudness = track.loudness_between(music.start, count) if track is not None else None
    shown = beat_warp(normalise(keypoints)[0], beats, count, CORPUS_FPS, loudness=loudness)
    keypoints = play(keypoints, shown)
    ids = (new.ids[np.round(np.interp(shown, np.arange(pace.shown), times)).astype(int)]
           if new.ids is not None else None)
    words = vocabulary.words_of(ids) if ids is not None else []
    return NewDance(len(context), ids, keypoints, words, choreographer.generator.name,
                    track.beats_per_minute if track is not None else 0.0, len(beats),
                    int(np.sum(phrases < count / CORPUS_FPS)),
                    sum(first < count for first, _, _ in sampling.repeats),
                    track.sound_loop() if len(beats) else None, track.seconds if track is not None else 0.0)


def phrase_repeats(phrase_starts: np.ndarray, frames: int) -> tuple[tuple[int, int, int], ...]:
    """The spans (first, end, lag) of written frames (`Sampling.repeats`) that dance a phrase again:
    of the eight-counts starting at `phrase_starts` (seconds from the new dance's start; a dance on
    the beat is written at the rate it is shown, so a second is `CORPUS_FPS` written frames), the
    second of each pair dances the first again, as choreographers teach an eight and repeat it, and
    the next pair starts something new. Before the first whole phrase (the pickup) and in every
    first of a pair the dance is free."""
    starts = [round(t * CORPUS_FPS) for t in phrase_starts] + [frames]
    return tuple((starts[k], starts[k + 1], starts[k] - starts[k - 1])
                 for k in range(1, len(starts) - 1, 2) if starts[k] < starts[k + 1])


def write_at_pace(generator, contexts: list[np.ndarray], pace: Pace, sampling: Sampling,
                  heard: list[np.ndarray | None]) -> list[tuple]:
    """Each context's new dance written by `generator` (one batch), with the fractional written frame
    each shown frame plays (`Pace.times`). A dance played much slower or faster than written shows
    its words for longer or shorter than the sampler counted them: where one of them, as shown,
    then copies its context for longer than `Sampling.max_copy_seconds`, the batch is written again
    with the rates known to the sampler (see `sampling._NoLongCopy`). A dance that, played at its
    rate, copies nothing too long is kept as written: writing it again only cost time (1.25 s of
    the demo's 16 s)."""
    dances = generator.continue_dances(contexts, pace.written, sampling, heard)
    timed = [(new, pace.times(context, new.poses)) for context, new in zip(contexts, dances)]
    rates = tuple(float(times[1] - times[0]) if len(times) > 1 else 1.0 for _, times in timed)
    if all(RATE_WRITTEN_AS_SHOWN[0] <= rate <= RATE_WRITTEN_AS_SHOWN[1] for rate in rates):
        return timed
    if not any(generator.copies_too_long(context, new, rate, sampling)
               for context, new, rate in zip(contexts, dances, rates)):
        return timed
    dances = generator.continue_dances(contexts, pace.written, replace(sampling, played_rates=rates), heard)
    return [(new, pace.times(context, new.poses)) for context, new in zip(contexts, dances)]


def lead_in(vocabulary, context: np.ndarray, context_ids: np.ndarray | None = None) -> np.ndarray:
    """The context's last second as whole poses: missing joints taken from their words' poses."""
    lead = context[-int(CORPUS_FPS):].copy()
    if context_ids is None:
        context_ids = vocabulary.encode(lead)
    lead = np.where(lead[:, :, 2:3] > 0, lead, vocabulary.decode(context_ids[-len(lead):]))
    lead[:, :, 2] = 1.0
    return lead


def _handover(frames: int) -> tuple[np.ndarray, np.ndarray]:
    """For the first `frames` new frames: how much of the user's last step each carries on (decaying
    by `CARRY_DECAY` a frame), and the smoothstep weight of the new movement against it."""
    steps = np.arange(1, frames + 1)
    ramp = steps / (frames + 1)
    return CARRY_DECAY ** steps, ramp * ramp * (3 - 2 * ramp)


def median_step(path: np.ndarray) -> float:
    """The median over frames of the mean length of a step of `path`'s points ((T, J, 2), T >= 2)."""
    return float(np.median(np.linalg.norm(np.diff(np.asarray(path, dtype=np.float64), axis=0), axis=2).mean(axis=1)))


def ordinary_step(path: np.ndarray, new_path: np.ndarray | None = None) -> np.ndarray:
    """The last step of `path` ((T, J, 2) positions of J points, T >= 2), shortened where its mean
    length is more than the median of the path's last second, or than the median step of the
    `new_path` it hands over to: carried on, a step cut at its fastest instant (or a detector's
    flicker in the last frame) would start the new dance with a jump of several steps, and a full
    step of a lively user would jump against a calmer new dance's own steps."""
    steps = np.diff(np.asarray(path[-int(CORPUS_FPS) - 1:], dtype=np.float64), axis=0)
    sizes = np.linalg.norm(steps, axis=2).mean(axis=1)
    ordinary = float(np.median(sizes))
    if new_path is not None and len(new_path) > 1:
        ordinary = min(ordinary, median_step(new_path))
    return steps[-1] * min(1.0, ordinary / max(float(sizes[-1]), 1e-12))


def handover_frames(last: np.ndarray, moving: np.ndarray) -> int:
    """How many frames the poses hand over in, from the user's `last` pose ((J, 2)) to the new
    dance's `moving` ones ((T, J, 2)): `HANDOVER_SECONDS` at least, and long enough that the
    smoothstep's steepest frame (which covers 1.5 / frames of the mean joint gap) goes no faster than
    the new dance's median step, `LONGEST_HANDOVER_SECONDS` at most. A fixed half second closed a first word's pose
    0.3 torso lengths away from a gentle user's at up to 9 times the dance's own speed: a lurch."""
    shortest, longest = (round(seconds * CORPUS_FPS) for seconds in (HANDOVER_SECONDS, LONGEST_HANDOVER_SECONDS))
    if len(moving) < 2:
        return shortest
    gap = float(np.linalg.norm(moving[0] - last, axis=1).mean())
    return smoothstep_frames(gap, median_step(moving), shortest, longest)


def join_smoothly(vocabulary, context: np.ndarray, keyframes: np.ndarray, context_ids: np.ndarray | None = None,
                  low_pass: bool = True) -> np.ndarray:
    """The new keyframe poses as movement that carries on from the context, without a jump.

    The context's last second leads in, and `smooth` turns lead-in and keyframes into movement
    (its low-pass only where `low_pass`: not for a decoder's poses, which are movement already).
    Over its first frames (`handover_frames`) the dancer then hands over from the real motion carried
    on (the last real pose moving on with its last velocity, slowing down, no longer than an ordinary
    step: `ordinary_step`) to that movement, with a smoothstep weight: so the first new frame is
    one ordinary step from the last real one, in the direction the dancer was already moving, and the
    way from the user's pose to the new dance's is gone at no more than the new dance's own pace. Only
    the new part is returned.
    """
    lead = lead_in(vocabulary, context, context_ids)
    moving = smooth(np.concatenate([lead, keyframes]), smoothing_seconds=SMOOTHING_SECONDS if low_pass else 0.0)[len(lead):]
    frames = min(len(moving), handover_frames(lead[-1, :, :2], moving[:, :, :2]))
    if frames and len(lead) > 1:
        carry, weight = _handover(frames)
        carried = lead[-1, :, :2] + ordinary_step(lead[:, :, :2], moving[:, :, :2]) * np.cumsum(carry)[:, None, None]
        moving[:frames, :, :2] = (1 - weight)[:, None, None] * carried + weight[:, None, None] * moving[:frames, :, :2]
    return moving


def hand_over_path(context_placement: np.ndarray, placement: np.ndarray) -> np.ndarray:
    """The new dance's (T, 3) placement (hip x, hip y, scale in pixels) with its first steps handed
    over from the user's last step as `join_smoothly` hands over the poses: the hips carry on the
    way they were going and turn to the travel model's path over `HANDOVER_SECONDS`, instead of
    taking the model's first stride at once."""
    frames = min(len(placement), round(HANDOVER_SECONDS * CORPUS_FPS))
    if not frames or len(context_placement) < 2:
        return placement
    path = np.concatenate([context_placement[-1:], placement]).astype(np.float64)
    steps = np.diff(path[:, :2], axis=0)
    zooms = np.diff(np.log(np.maximum(path[:, 2], 1e-9)))
    last = ordinary_step(np.asarray(context_placement, dtype=np.float64)[:, None, :2], path[:, None, :2])[0]
    last_zoom = np.log(max(context_placement[-1][2], 1e-9) / max(context_placement[-2][2], 1e-9))
    carry, weight = _handover(frames)
    steps[:frames] = (1 - weight)[:, None] * carry[:, None] * last + weight[:, None] * steps[:frames]
    zooms[:frames] = (1 - weight) * carry * last_zoom + weight * zooms[:frames]
    out = np.empty_like(placement, dtype=np.float64)
    out[:, :2] = path[0, :2] + np.cumsum(steps, axis=0)
    out[:, 2] = path[0, 2] * np.exp(np.cumsum(zooms))
    return out.astype(np.float32)


def continue_on_canvas(vocabulary, travel, context: np.ndarray, context_placement: np.ndarray, keyframes: np.ndarray,
                       size: tuple[int, int], context_ids: np.ndarray | None = None,
                       low_pass: bool = True) -> np.ndarray:
    """The new dance as pixel keypoints on the user's `size` canvas: joined to the context without a
    jump, travelling on from the context's last placement along the path the travel model reads
    from the poses at the speed the user's hips went (`travel.user_speed`; the dancer stays there
    when the model folder has no travel model), and kept inside the frame once eased in (over 1 to
    3 s, `framing.keep_in_frame`: a user cut off by the frame is continued from where they were). The `keyframes` are
    low-passed as `join_smoothly` says."""
    if context_ids is None:
        context_ids = vocabulary.encode(context)
    poses = join_smoothly(vocabulary, context, keyframes, context_ids, low_pass)
    placement = hand_over_path(context_placement, travel_path(travel, lead_in(vocabulary, context, context_ids), poses,
                                                              context_placement[-1], user_speed(context_placement)))
    return keep_in_frame(denormalise(poses, placement), size, ease_in=True)
