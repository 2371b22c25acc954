"""BVH motion capture: a small parser, forward kinematics, and the known skeletons' COCO-17 tables.

A BVH file has a HIERARCHY of joints (each an OFFSET from its parent and the CHANNELS it animates)
and a MOTION block of one line of channel values per frame. A joint's local transform is its
translation (the OFFSET, or its position channels where it has them) followed by its rotation
channels composed in the order listed: "Zrotation Xrotation Yrotation" means Rz @ Rx @ Ry, and a
joint's global rotation is its parent's global rotation @ its local one.

Known skeletons (`SKELETONS`), recognised by their joint names:

CMU (the "Daz-friendly" BVH release of mocap.cs.cmu.edu, as `*_scaled.bvh`): 43 joints, Y up. All
24 salsa takes share one skeleton (the same HIERARCHY byte for byte, lead and follow alike), a
standard figure rather than each dancer's own. Its rest pose is a T-pose facing +Z with its left on
+X (lShldr, lThigh... are offset to +X, the eyes to +Z). The file says metres (its offsets look like
the release's inches times 0.0254), but the figure is child-sized: in the rest pose its eyes are
1.19 above the soles, a 1.27 m person, with a 0.22 upper arm and 0.185 forearm. `CMU_SCALE` (1.35)
makes it a 1.72 m adult (eyes at 1.61 m, upper arm 0.30 m, forearm 0.25 m, hips about 0.88 m above
the floor while dancing), so a 1.2 m-high camera films it as it would a real salsa dancer. Its
shoulder joints are narrow (lShldr is 0.09 from the midline): filmed front-on, its shoulders are
about half as wide as its torso is long, against 0.56 for Bandai and 0.58-1.0 for Tang takes.

Bandai (Bandai-Namco-Research-Motiondataset): 21 joints, every one with 6 channels, centimetres
(thigh 39, shin 41, upper arm 24, forearm 22; dancing, the hip joints are about 90 and the head
joint 138 above the floor, which the toes touch at 0), Y up. Its bones run along each joint's
local X, so its rest pose (all rotations identity) is no human pose; the head's forward and up
were read off the data instead (see `BANDAI`).

COCO-17 body joints are the positions of: shoulder = upper-arm joint (CMU lShldr, Bandai
UpperArm_L), elbow = forearm joint, wrist = hand joint, hip = thigh joint, knee = shin joint,
ankle = foot joint. Nose, eyes and ears come from `mocap.face_points` around a head centre given
as an offset in the head joint's frame.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.pose_sequence import check_frame_count
from ..data.skeleton import INDEX, NUM_JOINTS
from ..errors import BopBotError
from .mocap import FACE_JOINTS, Motion3D, check_finite, face_points

#: Metres per CMU file unit: the files' "metres" make a 1.27 m figure (see the module docstring).
CMU_SCALE = 1.35

_AXES = {"X": 0, "Y": 1, "Z": 2}


@dataclass(frozen=True)
class BvhJoint:
    """One joint of a BVH hierarchy: its parent's index (-1 for a root), offset and channels."""

    name: str
    parent: int
    offset: tuple[float, float, float]
    channels: tuple[str, ...]


@dataclass(frozen=True)
class BvhSkeleton:
    """How a known BVH skeleton lands on COCO-17, and in what unit."""

    name: str
    #: COCO-17 body joint name -> BVH joint whose position it is.
    body: dict[str, str]
    #: The BVH joint carrying the head, and the head centre as an offset in its frame (file units).
    head: str
    head_centre: tuple[float, float, float]
    #: The head joint's forward and up directions in its own frame.
    head_forward: tuple[float, float, float]
    head_up: tuple[float, float, float]
    #: Metres per file unit.
    metres: float

    def matches(self, names: set[str]) -> bool:
        """Whether a hierarchy with these joint names is this skeleton."""
        return set(self.body.values()) | {self.head} <= names


def _body(side_names: dict[str, str], left: str, right: str) -> dict[str, str]:
    """COCO-17 body joint -> BVH joint, from part -> BVH name pattern with a `{}` for the side."""
    return {
        f"{side}_{part}": pattern.format(mark)
        for side, mark in (("left", left), ("right", right))
        for part, pattern in side_names.items()
    }


#: CMU: l* joints are on the body's left (+X in the T-pose); the head looks along its rest +Z with
#: +Y up (averaged over 60_01, the body's facing in the head joint's frame is (0.08, 0.10, 0.99)
#: and world up (-0.04, 0.99, -0.09)). The head centre is 0.04 units above the head joint (the top
#: of the neck), which puts `face_points`' eyes where CMU's own leftEye/rightEye joints are
#: (0.063 units up and forward of the head joint, 0.03 to the side).
CMU = BvhSkeleton(
    name="CMU",
    body=_body(
        {"shoulder": "{}Shldr", "elbow": "{}ForeArm", "wrist": "{}Hand",
         "hip": "{}Thigh", "knee": "{}Shin", "ankle": "{}Foot"},
        "l", "r",
    ),
    head="head",
    head_centre=(0.0, 0.04, 0.0),
    head_forward=(0.0, 0.0, 1.0),
    head_up=(0.0, 1.0, 0.0),
    metres=CMU_SCALE,
)

#: Bandai: *_L joints are on the body's left. In the Head joint's frame the neck-to-head bone runs
#: along +X (up) and the face looks along +Y: averaged over the take, the body's facing (from
#: shoulders and hips) in the head joint's frame is (0.11, 0.99, 0.01) and world up is (0.99,
#: -0.11, 0.01), the same as in the Chest joint's frame. The head joint (base of the skull) is
#: 9 cm above the shoulders; the head centre, at ear height, is 5 cm further up that bone.
BANDAI = BvhSkeleton(
    name="Bandai",
    body=_body(
        {"shoulder": "UpperArm_{}", "elbow": "LowerArm_{}", "wrist": "Hand_{}",
         "hip": "UpperLeg_{}", "knee": "LowerLeg_{}", "ankle": "Foot_{}"},
        "L", "R",
    ),
    head="Head",
    head_centre=(5.0, 0.0, 0.0),
    head_forward=(0.0, 1.0, 0.0),
    head_up=(1.0, 0.0, 0.0),
    metres=0.01,
)

SKELETONS: tuple[BvhSkeleton, ...] = (CMU, BANDAI)


@dataclass
class BvhFile:
    """A parsed BVH file: its joints, its frame time in seconds, and its (F, channels) values."""

    joints: list[BvhJoint]
    frame_time: float
    values: np.ndarray


def _malformed(path: str, section: str, detail: str) -> BopBotError:
    """The error for a BVH file whose `section` (hierarchy, motion) is not what BVH allows."""
    return BopBotError(path, f"malformed BVH {section}: {detail}")


class _Tokens:
    """The whitespace-separated words of a BVH HIERARCHY, read one at a time."""

    def __init__(self, words: list[str], path: str):
        self.words = words
        self.at = 0
        self.path = path

    def next(self) -> str:
        if self.at >= len(self.words):
            raise _malformed(self.path, "hierarchy", "the file ends inside it")
        self.at += 1
        return self.words[self.at - 1]

    def expect(self, word: str) -> None:
        found = self.next()
        if found != word:
            raise _malformed(self.path, "hierarchy", f"expected '{word}', found '{found}'")

    def numbers(self, count: int, what: str) -> list[float]:
        words = [self.next() for _ in range(count)]
        try:
            return [float(word) for word in words]
        except ValueError:
            raise _malformed(self.path, "hierarchy", f"{what} '{' '.join(words)}' is not numbers") from None


#: Deepest joint nesting read; a human skeleton is about 10 deep, hands and feet included.
MAX_DEPTH = 100


def _parse_joint(tokens: _Tokens, name: str, parent: int, joints: list[BvhJoint], depth: int = 0) -> None:
    """Read one joint's `{ OFFSET ... CHANNELS ... children }` block into `joints`."""
    if depth > MAX_DEPTH:
        raise _malformed(tokens.path, "hierarchy", f"joints nested more than {MAX_DEPTH} deep")
    tokens.expect("{")
    tokens.expect("OFFSET")
    offset = tuple(tokens.numbers(3, f"the OFFSET of '{name}'"))
    tokens.expect("CHANNELS")
    count = tokens.numbers(1, f"the channel count of '{name}'")[0]
    channels = tuple(tokens.next() for _ in range(int(count)))
    for channel in channels:
        if channel[:1] not in _AXES or channel[1:] not in ("position", "rotation"):
            raise _malformed(tokens.path, "hierarchy", f"unknown channel '{channel}' on '{name}'")
    index = len(joints)
    joints.append(BvhJoint(name, parent, offset, channels))
    while (word := tokens.next()) != "}":
        if word == "JOINT":
            _parse_joint(tokens, tokens.next(), index, joints, depth + 1)
        elif word == "End":
            tokens.expect("Site")
            tokens.expect("{")
            tokens.expect("OFFSET")
            tokens.numbers(3, f"an End Site OFFSET under '{name}'")
            tokens.expect("}")
        else:
            raise _malformed(tokens.path, "hierarchy", f"unexpected '{word}' in '{name}'")


def parse_hierarchy(text: str, path: str) -> list[BvhJoint]:
    """The joints of a BVH HIERARCHY section, parents before children."""
    tokens = _Tokens(text.split(), path)
    tokens.expect("HIERARCHY")
    joints: list[BvhJoint] = []
    while tokens.at < len(tokens.words):
        tokens.expect("ROOT")
        _parse_joint(tokens, tokens.next(), -1, joints)
    if not joints:
        raise _malformed(path, "hierarchy", "it has no ROOT joint")
    return joints


def _header_value(line: str, key: str, path: str) -> float:
    """The number after `key` on a MOTION header line."""
    name, _, value = line.partition(":")
    if name.strip() != key:
        raise _malformed(path, "motion", f"expected '{key}:', found '{line.strip()[:40]}'")
    try:
        return float(value)
    except ValueError:
        raise _malformed(path, "motion", f"'{key}:' is followed by '{value.strip()}', not a number") from None


def parse_motion(lines: list[str], channels: int, path: str) -> tuple[float, np.ndarray]:
    """(frame time in seconds, (F, channels) values) of the lines after MOTION."""
    if len(lines) < 2:
        raise _malformed(path, "motion", "the 'Frames:' and 'Frame Time:' lines are missing")
    frames = _header_value(lines[0], "Frames", path)
    frame_time = _header_value(lines[1], "Frame Time", path)
    check_frame_count(path, frames)
    rows = [line.split() for line in lines[2:] if line.strip()]
    if frames < 0 or frames != int(frames):
        raise _malformed(path, "motion", f"'Frames: {frames:g}' is not a count of frames")
    if frames < 1 or not rows:
        raise BopBotError(path, "the BVH motion has zero frames")
    if len(rows) != frames:
        hint = " (truncated file?)" if len(rows) < frames else ""
        raise _malformed(path, "motion", f"'Frames: {frames:g}' but {len(rows)} frame lines{hint}")
    for number, row in enumerate(rows, start=1):
        if len(row) != channels:
            detail = f"frame {number} has {len(row)} values, the hierarchy has {channels} channels"
            raise _malformed(path, "motion", detail)
    try:
        values = np.array(rows, dtype=np.float64)
    except ValueError as exc:
        raise _malformed(path, "motion", f"a frame holds a value that is not a number ({exc})") from None
    if not 0 < frame_time < np.inf:
        raise _malformed(path, "motion", f"'Frame Time: {frame_time:g}' is not a positive number of seconds")
    return frame_time, values


def read_bvh(path: str | os.PathLike) -> BvhFile:
    """Parse a BVH file (any rotation order, position channels on any joint)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise BopBotError(path, f"cannot read the BVH file ({exc.strerror or exc})") from None
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise BopBotError(path, "is UTF-16 text; a BVH file is ASCII (save it as UTF-8)")
    text = data.decode("utf-8-sig", errors="replace")  # a UTF-8 byte-order mark is dropped
    hierarchy, marker, motion = text.partition("MOTION")
    if not marker:
        raise _malformed(str(path), "file", "it has no MOTION section")
    joints = parse_hierarchy(hierarchy, str(path))
    channels = sum(len(joint.channels) for joint in joints)
    frame_time, values = parse_motion(motion.strip().splitlines(), channels, str(path))
    return BvhFile(joints, frame_time, values)


def rotation(axis: int, degrees: np.ndarray) -> np.ndarray:
    """(F, 3, 3) right-handed rotation matrices about axis 0, 1 or 2 by `degrees` (F,)."""
    angle = np.radians(degrees)
    cos, sin = np.cos(angle), np.sin(angle)
    # The two axes the rotation turns, in right-handed order: X turns Y->Z, Y turns Z->X, Z turns X->Y.
    a, b = (axis + 1) % 3, (axis + 2) % 3
    matrices = np.zeros((len(angle), 3, 3))
    matrices[:, axis, axis] = 1.0
    matrices[:, a, a] = cos
    matrices[:, b, b] = cos
    matrices[:, b, a] = sin
    matrices[:, a, b] = -sin
    return matrices


def forward_kinematics(bvh: BvhFile) -> tuple[np.ndarray, np.ndarray]:
    """Global joint positions (F, J, 3) and rotations (F, J, 3, 3) of every frame, in file units."""
    frames = len(bvh.values)
    positions = np.zeros((frames, len(bvh.joints), 3))
    rotations = np.zeros((frames, len(bvh.joints), 3, 3))
    column = 0
    for index, joint in enumerate(bvh.joints):
        translation = np.tile(np.array(joint.offset), (frames, 1))
        local = np.tile(np.eye(3), (frames, 1, 1))
        for channel in joint.channels:
            axis, values = _AXES[channel[0]], bvh.values[:, column]
            if channel.endswith("position"):
                translation[:, axis] = values
            else:
                local = local @ rotation(axis, values)
            column += 1
        if joint.parent < 0:
            positions[:, index] = translation
            rotations[:, index] = local
        else:
            parent_rotation = rotations[:, joint.parent]
            offset = np.einsum("fij,fj->fi", parent_rotation, translation)
            positions[:, index] = positions[:, joint.parent] + offset
            rotations[:, index] = parent_rotation @ local
    return positions, rotations


def identify(joints: list[BvhJoint], path: str) -> BvhSkeleton:
    """The known skeleton these joints belong to, or a BopBotError listing them."""
    names = {joint.name for joint in joints}
    for skeleton in SKELETONS:
        if skeleton.matches(names):
            return skeleton
    listed = ", ".join(joint.name for joint in joints[:8]) + (", ..." if len(joints) > 8 else "")
    known = ", ".join(skeleton.name for skeleton in SKELETONS)
    raise BopBotError(path, f"unknown BVH skeleton (joints: {listed}); known: {known}")


def to_coco17(bvh: BvhFile, skeleton: BvhSkeleton) -> np.ndarray:
    """COCO-17 joints (F, 17, 3) in metres of a parsed BVH file of a known skeleton."""
    positions, rotations = forward_kinematics(bvh)
    index = {joint.name: i for i, joint in enumerate(bvh.joints)}
    positions = positions * skeleton.metres
    joints = np.zeros((len(positions), NUM_JOINTS, 3))
    for coco, name in skeleton.body.items():
        joints[:, INDEX[coco]] = positions[:, index[name]]
    head = rotations[:, index[skeleton.head]]
    centre = positions[:, index[skeleton.head]] + head @ (np.array(skeleton.head_centre) * skeleton.metres)
    forward, up = head @ np.array(skeleton.head_forward), head @ np.array(skeleton.head_up)
    joints[:, [INDEX[name] for name in FACE_JOINTS]] = face_points(centre, forward, up)
    return joints


def frame_rate(frame_time: float) -> float:
    """Frames per second of a BVH `Frame Time`, snapped to a whole number when that is within 0.05%.

    BVH files print the frame time with a few decimals (0.008333 for 120 fps, 0.0333333 for 30).
    """
    fps = 1.0 / frame_time
    return float(round(fps)) if abs(fps - round(fps)) < 5e-4 * fps else fps


def load_bvh(path: str | os.PathLike) -> Motion3D:
    """Read a BVH take of a known skeleton as COCO-17 joints in metres, Y up."""
    bvh = read_bvh(path)
    check_finite(bvh.values, str(path))
    skeleton = identify(bvh.joints, str(path))
    joints = to_coco17(bvh, skeleton)
    check_finite(joints, str(path))
    meta = {"skeleton": skeleton.name}
    return Motion3D(joints, frame_rate(bvh.frame_time), str(path), meta)
