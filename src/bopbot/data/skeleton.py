"""The canonical COCO-17 skeleton, and where other keypoint layouts land on it.

Every source (MediaPipe's 33 landmarks, OpenPose BODY_25 and COCO-18, mocap skeletons) is mapped
onto COCO-17 here or in its importer's documented table, so every later stage sees one layout.
"""

from __future__ import annotations

import numpy as np

JOINTS: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
NUM_JOINTS = len(JOINTS)
INDEX = {name: i for i, name in enumerate(JOINTS)}


def _mirror_permutation() -> np.ndarray:
    swapped = [name.replace("left_", "@").replace("right_", "left_").replace("@", "right_") for name in JOINTS]
    return np.array([INDEX[name] for name in swapped])


#: `keypoints[:, MIRROR]` relabels left joints as right and right as left (used with a flipped x).
MIRROR: np.ndarray = _mirror_permutation()

#: MediaPipe Pose's 33 landmarks -> COCO-17 (index into the 33 for each COCO joint).
FROM_MEDIAPIPE33 = np.array([0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28])
#: OpenPose BODY_25 -> COCO-17 (BODY_25's neck, mid-hip, feet have no COCO-17 joint).
FROM_BODY25 = np.array([0, 16, 15, 18, 17, 5, 2, 6, 3, 7, 4, 12, 9, 13, 10, 14, 11])
#: OpenPose COCO-18 -> COCO-17 (COCO-18 is COCO-17 plus a neck, in another order).
FROM_COCO18 = np.array([0, 15, 14, 17, 16, 5, 2, 6, 3, 7, 4, 11, 8, 12, 9, 13, 10])

#: The joint OpenPose adds between the shoulders (BODY_25 and COCO-18), and BODY_25's between the hips.
OPENPOSE_NECK, BODY25_MID_HIP = 1, 8
#: Joints per OpenPose layout, by name.
OPENPOSE_JOINTS = {"BODY_25": 25, "COCO-18": 18}


def to_openpose(keypoints: np.ndarray, layout: str = "BODY_25") -> np.ndarray:
    """(T, 17, 3) COCO-17 keypoints -> (T, 25 or 18, 3) in OpenPose's BODY_25 or COCO-18 order.

    The neck (and BODY_25's mid-hip) is the middle of the shoulders (hips), with the lower of their
    confidences, where both are present; BODY_25's feet have no COCO-17 joint and stay missing.
    Missing joints are (0, 0, 0), as OpenPose writes them."""
    keypoints = np.asarray(keypoints, dtype=np.float32)
    out = np.zeros((len(keypoints), OPENPOSE_JOINTS[layout], 3), dtype=np.float32)
    out[:, FROM_BODY25 if layout == "BODY_25" else FROM_COCO18] = keypoints
    middles = [(OPENPOSE_NECK, "shoulder")] + ([(BODY25_MID_HIP, "hip")] if layout == "BODY_25" else [])
    for joint, part in middles:
        left, right = keypoints[:, INDEX[f"left_{part}"]], keypoints[:, INDEX[f"right_{part}"]]
        out[:, joint, :2] = (left[:, :2] + right[:, :2]) / 2
        out[:, joint, 2] = np.minimum(left[:, 2], right[:, 2])
    out[out[:, :, 2] <= 0] = 0.0
    return out


#: Layouts recognised by their joint count, for keypoint files that do not say which they use.
LAYOUTS_BY_COUNT: dict[int, tuple[str, np.ndarray | None]] = {
    17: ("COCO-17", None),
    18: ("OpenPose COCO-18", FROM_COCO18),
    25: ("OpenPose BODY_25", FROM_BODY25),
    33: ("MediaPipe Pose 33", FROM_MEDIAPIPE33),
}


def to_coco17(keypoints: np.ndarray) -> np.ndarray:
    """Map (T, J, C) keypoints in a layout known by its joint count J onto COCO-17."""
    count = keypoints.shape[1]
    if count not in LAYOUTS_BY_COUNT:
        known = ", ".join(f"{n} ({name})" for n, (name, _) in LAYOUTS_BY_COUNT.items())
        raise ValueError(f"{count} joints per frame is no known layout; known: {known}")
    mapping = LAYOUTS_BY_COUNT[count][1]
    return keypoints if mapping is None else keypoints[:, mapping]
