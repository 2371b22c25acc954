"""Drawing the bopbot dancer.

The dancer is a stylised robot rather than a stick figure, after the original system's: a
translucent torso, a visor head, coloured limbs with rounded ends, and joint dots, all
anti-aliased (OpenCV's LINE_AA with sub-pixel coordinates). Sizes follow the dancer's own torso
length, so the robot looks the same at any scale. `render` writes the frames as MP4 or GIF.
"""

from __future__ import annotations

from typing import Iterator

import cv2
import numpy as np

from ..data.pose_sequence import PoseSequence
from ..data.skeleton import INDEX

SHIFT = 4  # sub-pixel bits for OpenCV drawing
ONE = 1 << SHIFT
BACKGROUND_TOP = np.array([24, 22, 40], dtype=np.float32)
BACKGROUND_BOTTOM = np.array([58, 40, 78], dtype=np.float32)
TORSO = (80, 220, 230)
OUTLINE = (235, 240, 255)
VISOR = (20, 24, 36)
VISOR_GLOW = (90, 255, 240)
LIMBS = {  # RGB colour per limb, drawn as (joint, joint) segments
    (255, 150, 60): (("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist")),
    (255, 80, 160): (("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist")),
    (255, 215, 70): (("left_hip", "left_knee"), ("left_knee", "left_ankle")),
    (120, 230, 110): (("right_hip", "right_knee"), ("right_knee", "right_ankle")),
}
JOINT_DOTS = ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
              "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")


def background(width: int, height: int) -> np.ndarray:
    """The stage: a soft vertical gradient."""
    mix = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    column = BACKGROUND_TOP * (1 - mix) + BACKGROUND_BOTTOM * mix
    return np.repeat(column, width, axis=1).astype(np.uint8)


def _fixed(point: np.ndarray) -> tuple[int, int]:
    return int(round(point[0] * ONE)), int(round(point[1] * ONE))


def _torso_length(frame: np.ndarray, ok: np.ndarray) -> float:
    shoulders = [INDEX["left_shoulder"], INDEX["right_shoulder"]]
    hips = [INDEX["left_hip"], INDEX["right_hip"]]
    if ok[shoulders].any() and ok[hips].any():
        top = frame[shoulders][ok[shoulders], :2].mean(axis=0)
        bottom = frame[hips][ok[hips], :2].mean(axis=0)
        return max(float(np.linalg.norm(top - bottom)), 4.0)
    present = frame[ok, :2]
    return max(float(np.ptp(present[:, 1])) / 3.3, 4.0) if len(present) > 1 else 20.0


def draw_dancer(canvas: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """Draw one (17, 3) pixel pose as the bopbot dancer on `canvas` (RGB, changed in place)."""
    ok = frame[:, 2] > 0
    if ok.sum() < 2:
        return canvas
    torso = _torso_length(frame, ok)
    width = max(2, int(torso * 0.16))
    point = {name: frame[i, :2] for name, i in INDEX.items() if ok[i]}

    ankles = np.array([point[n] for n in ("left_ankle", "right_ankle") if n in point])
    if len(ankles):
        # the shadow lies on the floor under the feet that are on it: at the lowest ankle's height,
        # between the ankles as far as they are as low (a foot kicked up draws it no longer up and aside)
        lowest = ankles[:, 1].max()
        weights = np.exp(-(lowest - ankles[:, 1]) / (0.1 * torso))
        floor = np.array([(weights * ankles[:, 0]).sum() / weights.sum(), lowest + torso * 0.12])
        cv2.ellipse(canvas, _fixed(floor), (int(torso * 0.7 * ONE), int(torso * 0.12 * ONE)), 0, 0, 360,
                    (16, 14, 26), -1, cv2.LINE_AA, SHIFT)

    corners = [point[n] for n in ("left_shoulder", "right_shoulder", "right_hip", "left_hip") if n in point]
    if len(corners) == 4:
        overlay = canvas.copy()
        polygon = np.array([_fixed(c) for c in corners], dtype=np.int32)
        cv2.fillPoly(overlay, [polygon], TORSO, cv2.LINE_AA, SHIFT)
        cv2.addWeighted(overlay, 0.45, canvas, 0.55, 0, dst=canvas)
        cv2.polylines(canvas, [polygon], True, OUTLINE, max(1, width // 3), cv2.LINE_AA, SHIFT)

    for colour, segments in LIMBS.items():
        for a, b in segments:
            if a in point and b in point:
                cv2.line(canvas, _fixed(point[a]), _fixed(point[b]), colour, width, cv2.LINE_AA, SHIFT)
                for end in (point[a], point[b]):
                    cv2.circle(canvas, _fixed(end), int(width * ONE / 2), colour, -1, cv2.LINE_AA, SHIFT)

    _draw_head(canvas, point, torso, width)
    for name in JOINT_DOTS:
        if name in point:
            cv2.circle(canvas, _fixed(point[name]), int(width * 0.55 * ONE), OUTLINE, -1, cv2.LINE_AA, SHIFT)
            cv2.circle(canvas, _fixed(point[name]), int(width * 0.3 * ONE), VISOR, -1, cv2.LINE_AA, SHIFT)
    return canvas


def _draw_head(canvas: np.ndarray, point: dict, torso: float, width: int) -> None:
    """A round helmet with a visor band along the eye line, on a neck from the shoulders."""
    face = [point[n] for n in ("nose", "left_eye", "right_eye", "left_ear", "right_ear") if n in point]
    shoulders = [point[n] for n in ("left_shoulder", "right_shoulder") if n in point]
    if not face:
        return
    centre = np.mean(face, axis=0)
    radius = torso * 0.3
    if shoulders:
        neck = np.mean(shoulders, axis=0)
        cv2.line(canvas, _fixed(neck), _fixed(centre), OUTLINE, max(2, width // 2), cv2.LINE_AA, SHIFT)
    cv2.circle(canvas, _fixed(centre), int(radius * ONE), (210, 215, 235), -1, cv2.LINE_AA, SHIFT)
    cv2.circle(canvas, _fixed(centre), int(radius * ONE), OUTLINE, max(1, width // 3), cv2.LINE_AA, SHIFT)
    if "left_eye" in point and "right_eye" in point:
        direction = point["left_eye"] - point["right_eye"]
        angle = float(np.degrees(np.arctan2(direction[1], direction[0])))
        eyes = (point["left_eye"] + point["right_eye"]) / 2
    else:
        angle, eyes = 0.0, centre
    axes = (int(radius * 0.85 * ONE), int(radius * 0.32 * ONE))
    cv2.ellipse(canvas, _fixed(eyes), axes, angle, 0, 360, VISOR, -1, cv2.LINE_AA, SHIFT)
    glow = (int(radius * 0.6 * ONE), max(ONE, int(radius * 0.08 * ONE)))
    cv2.ellipse(canvas, _fixed(eyes), glow, angle, 0, 360, VISOR_GLOW, -1, cv2.LINE_AA, SHIFT)


def dancer_frames(sequence: PoseSequence) -> Iterator[np.ndarray]:
    """RGB frames of the bopbot dancer on the stage, at the sequence's size."""
    stage = background(*sequence.size)
    for frame in sequence.keypoints:
        yield draw_dancer(stage.copy(), frame)
