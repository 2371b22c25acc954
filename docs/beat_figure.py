"""Makes docs/on-the-beat.png, docs/music.md's picture of how the dance follows a song: the bopbot
dancer's joint speed under the song's beats and loudness, danced to a song that is loud, then quiet,
beside the same dance played without music.

The user is the first 8 s of a held-out phone clip; `choreograph` (what `bopbot dance` calls)
continues it for 12 s with the embedded model and seed 0, once without music and once to a song of
clicks at 120 beats a minute over noise, its first 6 s 12 dB louder than its last 6 s (the song of
`docs/beat_lock_trial.py`). Plotted: the song's loudness (its RMS over each frame and as the warp
reads it), the beats and where the eight-counts start, and the mean joint speed of the dancer's normalised poses (torso lengths a
second, smoothed as the motion beats are) in both dances.

Run: .venv/bin/python docs/beat_figure.py   (needs ../shared/data)
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from scipy import ndimage

from beat_lock_trial import LOUDNESS_SECONDS, loudness_song, write_wav  # docs/, beside this script
from bopbot.choreography.choreograph import choreograph
from bopbot.choreography.user_dance import Music, UserDance
from bopbot.data.normalise import normalise
from bopbot.data.pose_sequence import CORPUS_FPS, PoseSequence
from bopbot.evaluation.settings import EvalSettings
from bopbot.evaluation.stretches import cut_stretches, held_out_views
from bopbot.models.model_folder import Choreographer
from bopbot.models.sampling import Sampling
from bopbot.music.beats import MOTION_SMOOTHING_SECONDS, mean_joint_speed, music_beats

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT.parent / "shared" / "data" / "dance_videos" / "xdyna_driving_4.mp4"  # held out from training
SECONDS = LOUDNESS_SECONDS


def speed(keypoints: np.ndarray) -> np.ndarray:
    smoothed = mean_joint_speed(normalise(keypoints)[0], CORPUS_FPS)
    return ndimage.gaussian_filter1d(np.nan_to_num(smoothed), MOTION_SMOOTHING_SECONDS * CORPUS_FPS)


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    settings = EvalSettings(yaws=(0.0,), follow=True)
    test = cut_stretches(held_out_views([str(CLIP)], settings), settings).tests[0]
    user = UserDance(PoseSequence(test.context_keypoints(), CORPUS_FPS, test.size, test.name), test.context,
                     test.context_placement, None, None)
    model = Choreographer.load()
    with tempfile.TemporaryDirectory() as folder:
        music = write_wav(Path(folder) / "loud_then_quiet.wav", loudness_song(SECONDS))
        track = music_beats(str(music))
        danced = choreograph(model, user, SECONDS, Sampling(seed=0), music=Music(music, 0.0))
    silent = choreograph(model, user, SECONDS, Sampling(seed=0))
    times = np.arange(round(SECONDS * CORPUS_FPS)) / CORPUS_FPS
    figure, (loud_axis, speed_axis) = plt.subplots(2, 1, figsize=(10, 4.6), sharex=True,
                                                   gridspec_kw={"height_ratios": [1, 2.2]})
    loud_axis.plot(times, track.loudness_between(0.0, len(times)), color="tab:orange")
    loud_axis.set_ylabel("loudness\n(RMS / median)")
    loud_axis.set_title("The bopbot dancer to a song loud, then quiet, at 120 beats a minute", fontsize=10)
    for axis in (loud_axis, speed_axis):
        for beat in track.between(0.0, SECONDS):
            axis.axvline(beat, color="grey", linewidth=0.6, linestyle=":")
        for phrase in track.phrase_starts(0.0, SECONDS):
            axis.axvline(phrase, color="tab:green", linewidth=1.2)
    speed_axis.plot(times, speed(silent.keypoints)[:len(times)], color="tab:grey", linewidth=1.0,
                    label="without music, at the user's pace")
    speed_axis.plot(times, speed(danced.keypoints)[:len(times)], color="tab:blue", linewidth=1.6,
                    label="to the song: each beat accented, faster where it is loud")
    speed_axis.set_ylabel("mean joint speed\n(torso lengths/s)")
    speed_axis.set_xlabel("seconds of new dance (dotted: the song's beats; green: each eight-count's start, the "
                          "second of a pair dancing the first again)")
    speed_axis.legend(fontsize=8, loc="upper right")
    figure.tight_layout()
    figure.savefig(ROOT / "docs" / "on-the-beat.png", dpi=100)


if __name__ == "__main__":
    main()
