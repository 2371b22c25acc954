"""The Python API as a user calls it: `bopbot.Dancer`, its dances, and `bopbot.extract`; the same
dance as the command line's for the same seed; the README's Python snippet runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

import bopbot
from bopbot.app.cli import main
from bopbot.data.pose_sequence import PoseSequence
from bopbot.errors import BopBotError

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture(scope="module")
def dancer():
    return bopbot.Dancer.load()


def _frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def test_a_dance_from_python_is_saved_exported_and_read_back(dancer, tmp_path):
    new = dancer.dance(None, seconds=2, seed=0)  # the model's own primer dance, continued
    assert new.poses.keypoints.shape == (40, 17, 3) and new.poses.fps == 20
    assert len(new.words) == 40 and set(new.words) <= set(dancer.model.vocabulary.words_)
    primer = len(new.user.keypoints)
    assert new.save(tmp_path / "next.mp4", gif=True) == primer + 40
    assert _frames(tmp_path / "next.mp4") == primer + 40 and (tmp_path / "next.gif").stat().st_size > 0
    assert new.export("openpose", tmp_path / "openpose") == primer + 40
    assert len(list((tmp_path / "openpose").glob("*_keypoints.json"))) == primer + 40
    back = bopbot.extract(new.save_poses(tmp_path / "next.npz"))
    np.testing.assert_allclose(back.keypoints, new.poses.keypoints, atol=1e-3)
    again = dancer.dance(None, seconds=2, seed=0)
    assert again.words == new.words  # a seed makes it repeatable
    for folder, message in ((tmp_path / "openpose", "(or force=True to write among them)"),
                            (tmp_path / "next.npz", "export() writes into a folder, and this is a file")):
        with pytest.raises(BopBotError, match=re.escape(message)) as raised:  # Python's names, not --export, --force
            new.export("skeleton-png", folder)
        assert "--" not in str(raised.value)
    with pytest.raises(BopBotError, match=r"\.mp4"):
        new.save(tmp_path / "next.avi")


def test_a_song_that_is_no_song_is_one_error_before_any_work(dancer, tmp_path):
    text = tmp_path / "song.mp3"
    text.write_text("not a song\n")
    with pytest.raises(BopBotError, match="song.mp3") as raised:
        dancer.dance(None, seconds=2, music=text)
    assert "\n" not in str(raised.value)
    with pytest.raises(BopBotError, match="give the song"):
        dancer.dance(None, seconds=2, music_from_start=True)


def _dance(frames: int = 80, fps: float = 20.0, meta=None) -> PoseSequence:
    """A small dance built in Python: a standing figure waving its arms, `frames` long at `fps`."""
    standing = np.array([[50, 10], [48, 8], [52, 8], [46, 9], [54, 9], [42, 20], [58, 20], [38, 32], [62, 32],
                         [36, 44], [64, 44], [45, 48], [55, 48], [45, 66], [55, 66], [45, 84], [55, 84]], float)
    keypoints = np.ones((frames, 17, 3))
    keypoints[:, :, :2] = standing
    keypoints[:, 7:11, 1] -= 8 * np.sin(np.arange(frames) / 4)[:, None]
    return PoseSequence(keypoints, fps, (100, 100), "waving", {} if meta is None else meta)


@pytest.mark.parametrize("keywords, message", [
    ({"seconds": -1}, "seconds= must be above 0 and at most 600, got -1"),
    ({"seconds": 1e9}, "seconds= must be above 0 and at most 600, got 1000000000"),  # the command line's cap
    ({"seconds": float("inf")}, "seconds= must be above 0 and at most 600, got inf"),
    ({"seconds": "5"}, "seconds= must be a number, got '5'"),
    ({"max_seconds": float("nan")}, "max_seconds= must be above 0 and at most 3600, got nan"),
    ({"seed": -1}, "seed= must be at least 0 and at most 4294967295, got -1"),  # None is a new dance each time
    ({"seed": 1.5}, "seed= must be a whole number, got 1.5"),
    ({"seed": 2**2000}, "seed= must be at least 0 and at most 4294967295, got an integer of over 308 digits"),
    ({"top_k": 2.5}, "top_k= must be a whole number, got 2.5"),
    ({"temperature": 0}, "temperature= must be above 0 and at most 100, got 0"),
    ({"temperature": "hot"}, "temperature= must be a number, got 'hot'"),
    ({"music": 5}, "music= must name a file (a str or a Path), got 5"),
    ({"source": 5}, "source= must name a file (a str or a Path), got 5"),
    # an array's repr ran over many lines into the one-line message
    ({"source": _dance().keypoints}, ("source= must name a file (a str or a Path), got an array of shape (80, 17, 3); "
                                      "keypoints in memory dance as a PoseSequence")),
    # an empty name was the current folder: searched for OpenPose frames, or written into
    ({"source": ""}, "source= names no file: the name is empty"),
    ({"music": ""}, "music= names no file: the name is empty"),
    ({"save_to": ""}, "save_to= names no file: the name is empty"),
    ({"layout": "bogus"}, "the layout must be one of "),
    # raised when the dance was first asked for (at `save`), not by `dance`
    ({"seconds": None}, "seconds=None dances the rest of the song, and there is no song: give seconds= or music="),
    # a PoseSequence is held to what `extract` takes from a pose file, before it is resampled
    ({"source": _dance(fps=0.05)}, "source (a PoseSequence): a frame rate of 0.05 fps is not a dance's (0.1 to 1000"),
    ({"source": _dance(fps=1e-300)}, "source (a PoseSequence): a frame rate of 1e-300 fps is not a dance's"),
    ({"source": _dance(frames=72_001)}, "source (a PoseSequence): holds 72,001 frames; a dance may hold at most 72,000"),
    ({"source": _dance(meta={"audio_offset": "x"})}, "its meta's 'audio_offset' must be seconds, 0 to 86400, got 'x'"),
    ({"source": _dance(meta=[1, 2])}, "source (a PoseSequence): 'meta' must be a JSON object, got a list"),
    ({"source": PoseSequence(_dance().keypoints, 20, (60000, 60000))}, "'size' must be the source's width and height"),
], ids=lambda value: f"{', '.join(value)}=" if isinstance(value, dict) else re.sub(r"\W+", "-", value)[-20:])
def test_a_bad_argument_is_named_as_python_calls_it(dancer, keywords, message):
    """The API's refusals speak of its keywords, not of the command line's --options, and hold them to
    the command line's ranges (`limits.LIMITS`) before any work: a 1e9 s dance hung while it was saved."""
    with pytest.raises(BopBotError, match=re.escape(message)) as raised:
        dancer.dance(**{"source": _dance(), "seconds": 2, **keywords})
    assert "--" not in str(raised.value) and "\n" not in str(raised.value)


def test_a_dance_is_written_only_under_a_name_of_its_kind(dancer, tmp_path, monkeypatch):
    """`save_poses("poses.txt")` wrote the poses there, a file `bopbot extract` then read as a list of
    inputs; an empty name was the current folder ("cannot write it: Device or resource busy", or an
    export among the user's own files)."""
    monkeypatch.chdir(tmp_path)
    new = dancer.dance(_dance(), seconds=1, seed=0)
    with pytest.raises(BopBotError, match=re.escape("poses.txt: the poses must be an .npz file")):
        new.save_poses(tmp_path / "poses.txt")
    for write, keyword in ((new.save, "path"), (new.save_poses, "path"), (lambda name: new.export("openpose", name),
                                                                         "folder")):
        with pytest.raises(BopBotError, match=re.escape(f"{keyword}= names no file: the name is empty")):
            write("")
    with pytest.raises(BopBotError, match=re.escape("path= names no file: the name is empty")):
        bopbot.extract("")
    assert not list(tmp_path.iterdir())


def test_every_name_the_api_takes_must_be_a_str_or_a_path():
    """`Dancer.load(5)` raised a bare TypeError from pathlib, where `dance(5)` and `extract(5)` named the keyword."""
    for model in (5, b"model", ["model"]):
        with pytest.raises(BopBotError, match=re.escape(f"model= must name a file (a str or a Path), got {model!r}")):
            bopbot.Dancer.load(model)
    with pytest.raises(BopBotError, match=re.escape("path= must name a file (a str or a Path), got 5")):
        bopbot.extract(5)


def test_a_setting_the_generator_does_not_read_is_refused_not_ignored():
    """`Dancer.load(generator="nearest").dance(..., temperature=0.5)` danced as with 1, without a word;
    `bopbot dance` refuses such an option (docs/command-line.md, Sampling), and so does Python now."""
    nearest, lstm = bopbot.Dancer.load(generator="nearest"), bopbot.Dancer.load(generator="lstm")
    with pytest.raises(BopBotError, match=re.escape("temperature=: the nearest generator does not read it; leave it out")):
        nearest.dance(_dance(), seconds=1, temperature=0.5)
    with pytest.raises(BopBotError, match=re.escape("top_k=, echo=: the lstm generator does not read them")):
        lstm.dance(_dance(), seconds=1, top_k=5, echo=0)
    assert nearest.generator == "nearest" and len(nearest.dance(_dance(), seconds=1, temperature=1.0).keypoints) == 20
    assert len(lstm.dance(_dance(), seconds=1, temperature=0.5, seed=0).keypoints) == 20


def test_extract_holds_max_seconds_to_a_number(tmp_path):
    """`bopbot.extract` took a NaN `max_seconds` as no limit at all."""
    np.save(tmp_path / "dance.npy", _dance().keypoints)
    with pytest.raises(BopBotError, match=re.escape("max_seconds= must be above 0 and at most 3600, got nan")):
        bopbot.extract(tmp_path / "dance.npy", max_seconds=float("nan"))


def test_the_command_line_dances_what_python_dances(dancer, tmp_path, capsys):
    """`bopbot dance` is the API: the same input and seed give the same new poses either way."""
    user = dancer.dance(None, seconds=1, seed=0).user
    user.save(tmp_path / "user.npz")
    assert main(["dance", str(tmp_path / "user.npz"), "-o", str(tmp_path / "cli.mp4"), "--seconds", "3", "--seed", "4",
                 "--save-poses", "--layout", "dancer-only"]) == 0
    from_cli = bopbot.extract(tmp_path / "cli.npz")
    from_python = dancer.dance(bopbot.extract(tmp_path / "user.npz"), seconds=3, seed=4, layout="dancer-only")
    np.testing.assert_allclose(from_cli.keypoints, from_python.poses.keypoints, atol=1e-3)
    assert "wrote" in capsys.readouterr().out


def test_a_video_saved_while_its_clip_is_read_is_the_one_saved_after(dancer, puppet_video_with_song, tmp_path,
                                                                     monkeypatch):
    """`save_to` encodes the clip's part of a `continue` video while the clip is read (the frames are
    not kept for it), and writes the same file, byte for byte, GIF and sound included, as `save`. The
    GIF shows the clip's last `GIF_LEAD_SECONDS` (1 s here, so that it is shorter than the clip) and
    then the new dance."""
    from PIL import Image

    from bopbot.choreography import render

    monkeypatch.setattr(render, "GIF_LEAD_SECONDS", 1.0)
    after = dancer.dance(puppet_video_with_song, seconds=2, seed=3)
    assert after._planned.user.frames is not None  # kept for `save`
    frames = after.save(tmp_path / "after.mp4", gif=True)
    assert after.music_loop is not None and after.unheard_seconds == 0  # the clip's 4 s song carried on
    during = dancer.dance(puppet_video_with_song, seconds=2, seed=3, save_to=tmp_path / "during.mp4", gif=True)
    assert during._planned.user.frames is None  # streamed into the video, not kept
    assert during.frames_saved == frames == len(after.user.keypoints) + 40
    for suffix in (".mp4", ".gif"):
        assert (tmp_path / f"during{suffix}").read_bytes() == (tmp_path / f"after{suffix}").read_bytes(), suffix
    with Image.open(tmp_path / "during.gif") as gif:
        assert gif.n_frames == 20 + 40 < frames
    with av.open(str(tmp_path / "during.mp4")) as container:
        assert container.streams.audio, "the clip's song is in the video"


def test_the_bar_of_a_video_begun_while_its_clip_is_read_counts_to_the_new_dances_end(puppet_video, tmp_path, capsys):
    """The web page shows these bars: "dancing" counted frames without an end ("41 frame"), and the
    model writing the dance showed a bare timer."""
    bopbot.Dancer.load(progress=True).dance(puppet_video, seconds=2, seed=3, save_to=tmp_path / "next.mp4")
    said = capsys.readouterr().err
    bars = re.findall(r"dancing: [^\r\n]*", said)
    assert bars and all(re.search(r" \d+/40 ", bar) for bar in bars), bars
    assert re.search(r"writing the new dance: +0%.* 0/1 ", said)  # the model's part has a name too


def test_a_clip_that_fails_while_its_video_is_begun_leaves_nothing(dancer, tmp_path):
    """Nobody in the clip: the one-line error, and no video, GIF or temporary file left beside it."""
    from bopbot.choreography.render import write_mp4

    empty = tmp_path / "clip" / "empty.mp4"
    empty.parent.mkdir()
    write_mp4((np.full((360, 640, 3), 90, np.uint8) for _ in range(30)), empty, 30.0)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(BopBotError, match="empty.mp4: nobody found"):
        dancer.dance(empty, seconds=2, save_to=out / "next.mp4", gif=True)
    assert list(out.iterdir()) == []
    with pytest.raises(BopBotError, match="empty.mp4"):  # the input itself is never an output
        dancer.dance(empty, seconds=2, save_to=empty)
    assert sorted(p.name for p in empty.parent.iterdir()) == ["empty.mp4"]


def test_the_rest_of_a_clips_own_sound_is_too_short_to_dance_to(dancer, puppet_video_with_song, tmp_path):
    """`seconds=None` dances the rest of the song; a clip's own sound ends with the clip, and the few
    hundredths of a second left made a dance of one frame (0.05 s) without a word. A song with
    seconds of it left still lasts the rest (`test_music.py`)."""
    new = dancer.dance(puppet_video_with_song, seconds=None, seed=0)
    with pytest.raises(BopBotError, match=r"puppet_song\.mp4: the song ends 0\.\d\d s after the new dance starts, "
                                          r"too soon to dance to: say how many --seconds to dance$"):
        new.save(tmp_path / "next.mp4")
    assert not (tmp_path / "next.mp4").exists()


def test_the_api_is_imported_only_when_asked_for():
    """`import bopbot` stays light (the command line's --help depends on it)."""
    code = "import sys, bopbot; assert 'bopbot.app.api' not in sys.modules; bopbot.Dancer; " \
           "assert 'bopbot.app.api' in sys.modules; print('ok')"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "ok\n"


def test_the_readmes_python_snippet_runs(puppet_video, tmp_path, monkeypatch):
    """Every ```python block of the README, run in a fresh folder where `me.mp4` is a dance video."""
    (tmp_path / "me.mp4").symlink_to(puppet_video)
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README shows no Python"
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, str(README), "exec"), {})
    assert (tmp_path / "next.mp4").stat().st_size > 0


def test_an_export_that_fails_halfway_takes_back_its_frames(dancer, tmp_path):
    """Frames exported so far would read back as a whole, shorter dance: an export that fails (or is
    interrupted) removes the frames it wrote, and only those."""
    new = dancer.dance(None, seconds=1, seed=0)
    folder = tmp_path / "pngs"
    (folder / "primer_000000000030.png").mkdir(parents=True)  # the 31st frame cannot be written
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(BopBotError, match="primer_000000000030.png"):
        new.export("skeleton-png", folder, force=True)
    assert sorted(path.name for path in folder.iterdir()) == ["notes.txt", "primer_000000000030.png"]
