"""Any dance input -> PoseSequences at 20 fps: the one entry point for every source kind.

Kinds, recognised by content and suffix:
- `video`: anything PyAV decodes (MediaPipe Pose finds the dancer);
- `openpose`: a folder of OpenPose per-frame JSON (or a folder holding `json/`);
- `bvh`: BVH motion capture; `tang`: a Tang 2018 take (folder or its `skeletons.json`);
- `keypoints`: `.npz`/`.npy` keypoint arrays.
3D sources (bvh, tang) are projected through virtual cameras, so one take gives one 2D dance per
camera.
"""

from __future__ import annotations

import glob
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from ..data.pose_sequence import CORPUS_FPS, MAX_FRAMES, PoseSequence, check_frame_count
from ..errors import BopBotError, os_error

VIDEO_SUFFIXES = {".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp", ".ts"}
LIST_SUFFIXES = {".txt", ".lst"}
#: With `facing`, the shortest stretch of a 3D dance kept, in seconds.
FACING_SECONDS = 2.0
#: Suffixes a folder walk picks up; an input named explicitly is tried whatever its suffix.
INPUT_SUFFIXES = VIDEO_SUFFIXES | {".bvh", ".npz", ".npy"}
#: Frame rates a source may have: outside them a file's timing is damaged, not a dance's.
MIN_SOURCE_FPS, MAX_SOURCE_FPS = 0.1, 1000.0


@dataclass(frozen=True)
class ExtractOptions:
    """How inputs become sequences: virtual cameras for 3D sources, timing for untimed files."""

    yaws: tuple[float, ...] = (0.0,)
    mirror: bool = False
    #: Frame rate of sources that carry no timing (OpenPose folders, bare keypoint arrays).
    source_fps: float = 30.0
    #: Keep only the stretches (of `FACING_SECONDS` or more) in which a 3D dancer faces within this
    #: many degrees of the camera; None keeps every frame.
    facing: float | None = None
    #: Film 3D sources with cameras that turn with the dancer and about them
    #: (`mocap.VirtualCamera.follow`), so each yaw is measured from the dancer's facing: yaw 0
    #: films the front all along, the dancer in the middle of the picture.
    follow: bool = False
    #: The longest source taken, in seconds of dance (None: any); a video is measured from its
    #: frames as they are decoded and refused when it gets there, not after.
    max_seconds: float | None = None

    def to_json(self) -> dict:
        options = {"yaws": list(self.yaws), "mirror": self.mirror, "source_fps": self.source_fps, "fps": CORPUS_FPS}
        if self.facing is not None:
            options["facing"] = self.facing
        if self.follow:
            options["follow"] = True
        if self.max_seconds is not None:
            options["max_seconds"] = self.max_seconds
        return options


class NothingKept(BopBotError):
    """An input read whole of which the options keep nothing (`facing`: no stretch faces a camera).
    Extracted alone, an error; in a corpus, an input with no dances, not a failure to retry."""


def kind_of(path: Path, listed_at: str | None = None) -> str:
    """Which importer reads `path` (see the module docs). A path that is missing, unreadable, a loop
    of links or not a regular file or folder (a pipe would wait forever) is an error naming it, after
    `listed_at`, the list and line it was read from (`expand_inputs`), where it was read from one."""
    try:
        return _kind_of(path)
    except BopBotError as exc:
        raise said_where_listed(exc, listed_at) from None


def said_where_listed(exc: BopBotError, listed_at: str | None) -> BopBotError:
    """`exc`, said of a path read from an input list, after the list and line it is on
    ("inputs.txt line 3: clips/a.mp4: no such file or folder"); `exc` itself where `listed_at` is None."""
    return exc if listed_at is None else BopBotError(None, f"{listed_at}: {exc}")


def _kind_of(path: Path) -> str:
    """`kind_of`, said of `path` alone."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        problem = "a symbolic link to nothing" if os.path.lexists(path) else "no such file or folder"
        raise BopBotError(path, problem) from None
    except OSError as exc:
        raise os_error(exc, path, doing="read") from None
    if stat.S_ISDIR(info.st_mode):
        from .openpose import is_openpose_folder

        if not os.access(path, os.R_OK | os.X_OK):
            raise BopBotError(path, "cannot read this folder: Permission denied")
        if (path / "skeletons.json").is_file():
            return "tang"
        if is_openpose_folder(path):
            return "openpose"
        raise BopBotError(path, "folder holds no OpenPose JSON frames or Tang skeletons.json")
    if not stat.S_ISREG(info.st_mode):
        raise BopBotError(path, "is not a regular file (a pipe, a device or a socket); give a file")
    if not os.access(path, os.R_OK):
        raise BopBotError(path, "cannot read it: Permission denied")
    suffix = path.suffix.lower()
    if suffix == ".bvh":
        return "bvh"
    if suffix in (".npz", ".npy"):
        return "keypoints"
    if suffix == ".json":
        return "tang" if path.name == "skeletons.json" else "openpose-frame"
    return "video"


def _project_all(motion, options: ExtractOptions) -> list[PoseSequence]:
    from .mocap import cameras, facing_pieces, project

    if options.facing is None:
        return [project(motion, camera) for camera in cameras(options.yaws, options.mirror, options.follow)]
    pieces = [piece for camera in cameras(options.yaws, options.mirror, options.follow)
              for piece in facing_pieces(motion, camera, options.facing, FACING_SECONDS)]
    if not pieces:
        raise NothingKept(motion.source, f"the dancer never faces a camera within {options.facing:g} degrees "
                                         f"for {FACING_SECONDS:g} s")
    return pieces


def load_any(path: str | Path, options: ExtractOptions = ExtractOptions(), progress: bool = False,
             keep_frames: list | None = None) -> list[PoseSequence]:
    """Read one input as PoseSequences at its own frame rate (several for 3D sources); a video's
    frames as the detector saw them go into `keep_frames` if given (see `extract_video`)."""
    path = Path(path)
    kind = kind_of(path)
    if kind == "video":
        from .pose_detector import extract_video

        longest = options.max_seconds or MAX_FRAMES / CORPUS_FPS  # refused as soon as decoding gets there
        return [extract_video(path, progress=progress, keep_frames=keep_frames, max_seconds=longest)]
    if kind == "openpose":
        from .openpose import load_openpose

        return [load_openpose(path, options.source_fps)]
    if kind == "openpose-frame":
        raise BopBotError(path, "a single JSON file is one frame; give the folder of OpenPose frames")
    if kind == "keypoints":
        from .keypoint_files import load_keypoint_file

        return [load_keypoint_file(path, options.source_fps)]
    if kind == "bvh":
        from .bvh import load_bvh

        return _project_all(load_bvh(path), options)
    from .tang import load_tang

    return _project_all(load_tang(path), options)


def extract(path: str | Path, options: ExtractOptions = ExtractOptions(), progress: bool = False,
            keep_frames: list | None = None) -> list[PoseSequence]:
    """Read one input and resample it to the corpus rate (20 fps); too-short dances are errors."""
    loaded = load_any(path, options, progress, keep_frames)
    for sequence in loaded:
        check_rate_and_length(path, sequence, options.max_seconds)
    sequences = [sequence.resample(CORPUS_FPS) for sequence in loaded]
    for sequence in sequences:
        if len(sequence) < 2:
            raise BopBotError(path, f"too short to be a dance: {len(sequence)} frame(s) at {CORPUS_FPS:g} fps")
    if not any(sequence.present.any() for sequence in sequences):
        raise BopBotError(path, "no frame has a dancer in it")
    return sequences


def check_rate_and_length(path: str | os.PathLike, sequence: PoseSequence, max_seconds: float | None = None) -> None:
    """Raise a BopBotError naming `path` unless `sequence`, read from it, is at a dance's frame rate
    and no longer than a dance (`MAX_FRAMES`) or `max_seconds`: checked before it is resampled."""
    if not MIN_SOURCE_FPS <= sequence.fps <= MAX_SOURCE_FPS:
        raise BopBotError(path, f"a frame rate of {sequence.fps:g} fps is not a dance's "
                                f"({MIN_SOURCE_FPS:g} to {MAX_SOURCE_FPS:g} fps)")
    check_frame_count(path, len(sequence), sequence.fps)
    if max_seconds is not None and sequence.duration > max_seconds:
        raise BopBotError(path, f"is {sequence.duration:.0f} s long; the longest taken here is {max_seconds:g} s")


def _walk(folder: Path, seen: set[str]) -> list[Path]:
    """The inputs inside `folder`: take folders and OpenPose folders whole, files by suffix. A folder
    that cannot be listed is kept as it is, for the batch to say why; one seen before (a link back
    up the tree) is not walked again."""
    real = os.path.realpath(folder)
    if real in seen:
        return []
    seen.add(real)
    try:
        kind = kind_of(folder)
    except BopBotError:
        kind = None
    if kind in ("tang", "openpose"):
        return [folder]
    try:
        children = sorted(folder.iterdir())
    except OSError:
        return [folder]
    found: list[Path] = []
    for child in children:
        if child.name.startswith("."):
            continue
        if child.is_dir():
            found.extend(_walk(child, seen))
        elif child.suffix.lower() in INPUT_SUFFIXES:
            found.append(child)
    return found


def expand_inputs(items: list[str], listed: dict[Path, str] | None = None,
                  _lists: tuple[str, ...] = ()) -> list[Path]:
    """Folders, globs, list files (.txt/.lst, one path a line, relative to the list's folder; `#`
    starts a comment) and files -> the input paths.

    A path that does not exist (or cannot be read) is kept, so the batch reports it as a failure
    rather than losing it. Where `listed` is given, each path read from a list is noted in it with
    the list and line it came from ("inputs.txt line 3", the innermost list's), which `kind_of`
    names with the path's problems. A list that names itself, directly or through other lists, is
    an error.
    """
    found: list[Path] = []
    walked: set[str] = set()
    for item in items:
        path = Path(item)
        if any(ch in item for ch in "*?[") and not path.exists():
            matches = sorted(glob.glob(item, recursive=True))
            found.extend(expand_inputs(matches, listed, _lists) if matches else [path])
        elif path.is_dir():  # a folder with no input in it is kept, for the batch to say what it lacks
            again = os.path.realpath(path) in walked
            found.extend(_walk(path, walked) or ([] if again else [path]))
        elif path.suffix.lower() in LIST_SUFFIXES and path.is_file():
            found.extend(_read_list(path, listed, _lists))
        else:
            found.append(path)
    unique: dict[str, Path] = {}
    for path in found:
        unique.setdefault(os.path.realpath(path), path)
    return list(unique.values())


def _read_list(path: Path, listed: dict[Path, str] | None, lists: tuple[str, ...]) -> list[Path]:
    """The inputs the list file `path` names (`expand_inputs`), each noted in `listed` with its line;
    `lists` are the lists being read that led here."""
    real = os.path.realpath(path)
    if real in lists:
        raise BopBotError(path, "an input list that names itself (directly or through another list)")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise BopBotError(path, f"an input list must be UTF-8 text (byte {exc.start} is not)") from None
    except OSError as exc:
        raise os_error(exc, path, doing="read") from None
    found: list[Path] = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        named = expand_inputs([str(path.parent / line.strip())], listed, lists + (real,))
        if listed is not None:
            for each in named:
                listed.setdefault(each, f"{path} line {number}")
        found.extend(named)
    return found


def describe(sequence: PoseSequence) -> str:
    """One line on a sequence: frames, seconds, frames without a dancer."""
    return (
        f"{len(sequence)} frames ({sequence.duration:.1f} s at {sequence.fps:g} fps), "
        f"{sequence.frames_without_dancer} without a dancer"
    )


def options_key(options: ExtractOptions) -> str:
    """A stable text form of the options, part of each corpus shard's identity."""
    return json.dumps(options.to_json(), sort_keys=True)
