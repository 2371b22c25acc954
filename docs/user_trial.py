"""The new dance against the user's own, as a user meets it: `bopbot dance --seconds 10` on held-out
dances filmed from the front.

The held-out takes of `training/holdout_inputs.txt` are cut as `bopbot evaluate` cuts them (8 s of
context, then the real next 10 s; the mocap filmed by a camera following the dancer from the front,
the phone clips as filmed). Each context is given to `choreograph`, the function `bopbot dance`
calls, with `--seconds 10 --seed 0` and the model's default sampling. Per stretch: the new dance's
mean joint speed and acceleration over the user's context and over the real continuation
(`continuity.motion_ratio`), the join (first new step over the median step), the handover (the
fastest step of the first 3 s over the median step after them), how much the dancer
grew or shrank (towards or away from the camera) from the context's last frame to the end, the share of its
words that the context's last 10 s used, its longest copy of the context, and how fast its hips
travel beside the user's own hips over the context's last 8 s (`continuity.root_speed`). Each figure: the
mean [95% bootstrap interval over stretches], the real continuation's own beside it.

Run: .venv/bin/python docs/user_trial.py [--model FOLDER]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bopbot.choreography.choreograph import choreograph
from bopbot.choreography.user_dance import UserDance
from bopbot.data.normalise import normalise
from bopbot.data.pose_sequence import CORPUS_FPS, PoseSequence
from bopbot.evaluation import continuity
from bopbot.evaluation.evaluate import USER_SECONDS
from bopbot.evaluation.settings import EvalSettings
from bopbot.evaluation.stretches import cut_stretches, held_out_views
from bopbot.evaluation.word_metrics import CopyIndex
from bopbot.models.model_folder import Choreographer
from bopbot.models.sampling import Sampling
from bopbot.models.travel import PACE_SECONDS

HOLDOUT = Path(__file__).resolve().parents[1] / "training" / "holdout_inputs.txt"
PACE_FRAMES = round(PACE_SECONDS * CORPUS_FPS)  # the user's hips over the context's last 8 s, as the travel reads them


def interval(values: np.ndarray, resamples: int = 1000) -> str:
    rng = np.random.default_rng(0)
    means = rng.choice(values, size=(resamples, len(values))).mean(axis=1)
    return f"{values.mean():.2f} [{np.percentile(means, 2.5):.2f}, {np.percentile(means, 97.5):.2f}]"


def size(frame: np.ndarray) -> float:
    """The dancer's torso length in pixels in one frame of keypoints."""
    return float(normalise(frame[None])[1][0, 2])


def figures(context: np.ndarray, continuation: np.ndarray, real: np.ndarray, vocabulary) -> dict:
    """The figures of one continuation (pixel keypoints) of one context, against the real one."""
    new_ids = vocabulary.encode(normalise(continuation)[0])
    context_ids = vocabulary.encode(normalise(context)[0])
    recent = context_ids[-round(USER_SECONDS * CORPUS_FPS):]
    paced = min(PACE_FRAMES, len(context) - 1)
    return {
        "speed / user": continuity.motion_ratio(context, continuation),
        "speed / real next": continuity.motion_ratio(real, continuation),
        "accel. / user": continuity.motion_ratio(context, continuation, 2),
        "accel. / real next": continuity.motion_ratio(real, continuation, 2),
        "join": continuity.join_ratio(context, continuation),
        "handover": continuity.handover_ratio(context, continuation),
        "size change (abs. log)": abs(float(np.log(size(continuation[-1]) / size(context[-1])))),
        "user's words": float(np.isin(new_ids, recent).mean()),
        "copy of context (s)": CopyIndex(np.append(context_ids, -1)).longest_copy(new_ids) / CORPUS_FPS,
        "hip speed (torso/s)": continuity.root_speed(context, continuation, CORPUS_FPS),
        "user's hip speed (torso/s)": continuity.root_speed(context[-paced - 1:-paced], context[-paced:], CORPUS_FPS),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model folder (default: the embedded model)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    settings = EvalSettings(yaws=(0.0,), follow=True)
    tests = cut_stretches(held_out_views([str(HOLDOUT)], settings), settings).tests
    model = Choreographer.load(args.model)
    rows: dict[str, dict[str, list]] = {}
    for test in tests:
        group = "phone clips" if test.camera == "video" else "mocap, from the front"
        context = test.context_keypoints()
        real = test.continuation_keypoints()
        user = UserDance(PoseSequence(context, CORPUS_FPS, test.size, test.name), test.context,
                         test.context_placement, None, None)
        new = choreograph(model, user, settings.seconds, Sampling(seed=args.seed))
        for row, dance in ((f"{group}: bopbot dance", new.keypoints), (f"{group}: real next 10 s", real)):
            for name, value in figures(context, dance, real, model.vocabulary).items():
                rows.setdefault(row, {}).setdefault(name, []).append(value)
        print(f"{test.name}: " + ", ".join(f"{k} {v[-1]:.2f}" for k, v in rows[f"{group}: bopbot dance"].items()),
              flush=True)
    names = list(next(iter(rows.values())))
    print("\n| | " + " | ".join(names) + " | join over 1.5 | stretches |")
    print("|---" * (len(names) + 3) + "|")
    for row, values in rows.items():
        cells = [interval(np.array(values[name], dtype=np.float64)) for name in names]
        joins = np.array(values["join"])
        print(f"| {row} | " + " | ".join(cells) + f" | {int((joins > 1.5).sum())} (max {joins.max():.2f}) | {len(joins)} |")


if __name__ == "__main__":
    main()
