"""A video every clone can make: a committed CMU dance drawn as a cartoon person.

The real pose model finds a drawn person with a face, a shirt, bare forearms, trousers and shoes
(the bopbot robot, with its visor for a face, it finds in a third of the frames), so a video drawn
from a mocap take is a real video file with a dancer the detector sees, and with the truth known:
the keypoints it was drawn from. Tests that need "a phone clip" but not a particular one use it;
those about real footage (its codecs, its people, its sound) still read `../shared/data`.
"""

from __future__ import annotations

import wave
from pathlib import Path

import cv2
import numpy as np

from bopbot.choreography.render import AudioPiece, write_mp4
from bopbot.data.skeleton import INDEX
from bopbot.ingest.extract import extract

WALL, SKIN, SHIRT, TROUSERS, SHOES, HAIR = (205, 200, 190), (224, 172, 140), (200, 60, 60), (50, 70, 120), (30, 30, 30), (40, 28, 20)
#: (joint, joint, colour, thickness in fifths of the torso) of every limb, drawn in this order.
LEGS = (("left_hip", "left_knee", TROUSERS, 1.4), ("left_knee", "left_ankle", TROUSERS, 1.2),
        ("right_hip", "right_knee", TROUSERS, 1.4), ("right_knee", "right_ankle", TROUSERS, 1.2))
ARMS = (("left_shoulder", "left_elbow", SHIRT, 1.0), ("left_elbow", "left_wrist", SKIN, 0.8),
        ("right_shoulder", "right_elbow", SHIRT, 1.0), ("right_elbow", "right_wrist", SKIN, 0.8))


def _at(frame: np.ndarray, joint: str) -> tuple[int, int]:
    x, y = frame[INDEX[joint], :2]
    return int(round(x)), int(round(y))


def draw_person(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """An RGB image of a cartoon person standing in `frame`'s COCO-17 keypoints (pixels)."""
    width, height = size
    image = np.full((height, width, 3), WALL, np.uint8)
    joints = {name: frame[INDEX[name], :2] for name in INDEX}
    torso = float(np.linalg.norm(joints["left_shoulder"] - joints["left_hip"]))
    fifth = max(2.0, torso / 5)
    for first, second, colour, thickness in LEGS:
        cv2.line(image, _at(frame, first), _at(frame, second), colour, int(fifth * thickness), cv2.LINE_AA)
    for ankle in ("left_ankle", "right_ankle"):
        cv2.circle(image, _at(frame, ankle), int(fifth * 0.7), SHOES, -1, cv2.LINE_AA)
    body = np.array([_at(frame, j) for j in ("left_shoulder", "right_shoulder", "right_hip", "left_hip")], np.int32)
    cv2.fillConvexPoly(image, body, SHIRT, cv2.LINE_AA)
    cv2.polylines(image, [body], True, SHIRT, int(fifth), cv2.LINE_AA)
    for first, second, colour, thickness in ARMS:
        cv2.line(image, _at(frame, first), _at(frame, second), colour, int(fifth * thickness), cv2.LINE_AA)
    for wrist in ("left_wrist", "right_wrist"):
        cv2.circle(image, _at(frame, wrist), int(fifth * 0.55), SKIN, -1, cv2.LINE_AA)
    _draw_head(image, joints, torso)
    return image


def _draw_head(image: np.ndarray, joints: dict, torso: float) -> None:
    def point(xy) -> tuple[int, int]:
        return int(round(xy[0])), int(round(xy[1]))

    ears, nose = (joints["left_ear"] + joints["right_ear"]) / 2, joints["nose"]
    eyes = (joints["left_eye"] + joints["right_eye"]) / 2
    neck = (joints["left_shoulder"] + joints["right_shoulder"]) / 2
    radius = max(6.0, torso * 0.28)
    centre = ears * 0.6 + nose * 0.4
    cv2.line(image, point(neck), point(ears), SKIN, int(radius * 0.7), cv2.LINE_AA)
    cv2.circle(image, point(centre - (0, radius * 0.25)), int(radius * 1.05), HAIR, -1, cv2.LINE_AA)
    cv2.ellipse(image, point(centre), (int(radius * 0.85), int(radius)), 0, 0, 360, SKIN, -1, cv2.LINE_AA)
    for eye in ("left_eye", "right_eye"):
        cv2.circle(image, point(joints[eye]), max(1, int(radius * 0.12)), (20, 20, 20), -1, cv2.LINE_AA)
    cv2.circle(image, point(nose), max(1, int(radius * 0.08)), (170, 110, 90), -1, cv2.LINE_AA)
    mouth = (max(2, int(radius * 0.3)), max(1, int(radius * 0.08)))
    cv2.ellipse(image, point(2 * nose - eyes), mouth, 0, 0, 360, (150, 50, 50), -1, cv2.LINE_AA)


def write_song(path: Path, seconds: float, bpm: float = 120.0, rate: int = 44100) -> Path:
    """A WAV of a drum-and-tone song at `bpm`: a decaying 60 Hz kick on every beat under a quiet chord."""
    t = np.arange(int(seconds * rate)) / rate
    since_beat = t % (60.0 / bpm)
    kick = np.sin(2 * np.pi * 60 * since_beat) * np.exp(-since_beat * 20)
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6)) / 3
    samples = (0.6 * kick + 0.15 * chord) * 32767 * 0.8
    with wave.open(str(path), "wb") as song:
        song.setnchannels(1)
        song.setsampwidth(2)
        song.setframerate(rate)
        song.writeframes(samples.astype("<i2").tobytes())
    return path


def puppet_keypoints(take: Path, seconds: float, size: tuple[int, int], fps: float) -> np.ndarray:
    """`take`'s first `seconds` filmed from the front, COCO-17 pixels (x, y, confidence) at `fps`,
    scaled onto a canvas of `size`."""
    sequence = extract(take)[0]
    width, height = sequence.size
    scale = min(size[0] / width, size[1] / height)
    keypoints = sequence.keypoints[: int(seconds * sequence.fps) + 1].copy()
    keypoints[..., :2] *= scale
    source_times = np.arange(len(keypoints)) / sequence.fps
    times = np.arange(int(seconds * fps)) / fps
    flat = keypoints.reshape(len(keypoints), -1)
    resampled = np.stack([np.interp(times, source_times, column) for column in flat.T], axis=1)
    return resampled.reshape(len(times), *keypoints.shape[1:])


def write_puppet_video(take: Path, path: Path, seconds: float = 3.0, size: tuple[int, int] = (640, 360),
                       fps: float = 30.0, song: Path | None = None) -> np.ndarray:
    """Film `take` as a cartoon person into the MP4 `path` (with `song` as its sound if given);
    returns the keypoints it was drawn from, at the video's frame rate."""
    keypoints = puppet_keypoints(take, seconds, size, fps)
    write_mp4((draw_person(frame, size) for frame in keypoints), path, fps,
              audio=[AudioPiece(song)] if song is not None else None)
    return keypoints
