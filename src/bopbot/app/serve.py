"""`bopbot serve`: the web page. A dancer drops a video (or films one with the webcam), and watches
the bopbot dancer carry on.

It is a Gradio app over the same pipeline as `bopbot dance`, the Python API's `Dancer` (`api.py`),
with a model folder loaded once per generator and kept. It offers what the command line does: the
four layouts (the skeleton too), a song from the start or after the clip, the new dance's poses as
`.npz`, the OpenPose JSON and skeleton PNG exports as one zip, and `bopbot dance`'s sampling
settings (temperature, top-k, top-p, echo) with its defaults, in a closed "More settings". The
page shows them whatever the generator, so it gives `Dancer.dance` only those the chosen generator
reads (`generators.READS`): a value the generator does not read is not refused, as the command
line refuses it, but left out, and the line after the dance says so where it is not the default.
Every value is held to the command line's ranges (`limits.LIMITS`) all the same. Gradio's queue
runs one dance at a time per worker and shows the others their place in line. Limits: uploads up to
`--max-upload-mb`, clips up to `--max-clip-seconds` (measured from the frames as they are decoded,
never from the header), new dances up to `MAX_NEW_SECONDS`, songs heard for their first
`beats.MAX_TRACK_SECONDS`. Bad input is a message on the page (BopBot's one line, naming the file as
the user named it), never a stack trace or a path of the server's. It binds to 127.0.0.1 unless
told otherwise, and serves no file outside its own folders.

Everything the page keeps, the dances it makes and Gradio's copies of the uploads, lies in one
private folder (`results.Results`) made for this server (`tempfile.mkdtemp`, mode 0700, named
`ROOT_PREFIX`, the server's process id and a random part) in the system's temporary folder or in
the folder named with `--results`, never a fixed shared name another user could plant a link at,
and never a folder that holds anything else: what the server removes is its own. A dance's folder
is removed `KEEP_RESULTS_SECONDS` after it was made, by a sweep that runs every `SWEEP_SECONDS`
whether or not requests come; the whole of it goes when the server stops
(Ctrl-C, SIGTERM, SIGHUP, or the process ending), and a later server removes what a killed one left.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from ..errors import BopBotError, os_error, shown
from .results import KEEP_RESULTS_SECONDS, Results

MAX_UPLOAD_MB = 200
MAX_CLIP_SECONDS = 120.0
MAX_NEW_SECONDS = 60
#: The sampling settings of `bopbot dance` the page offers, by their keywords in `api.Dancer.dance`:
#: their fields' labels, which the page's messages name them by.
SETTINGS = {"temperature": "temperature", "top_k": "top-k", "top_p": "top-p", "echo": "echo"}


class Dancer:
    """The model folder's generators, each loaded on first use and kept. The GPT-2 starts loading,
    and what a dance runs importing (the pose detector, the decoder, the choreography and the music
    analysis), in a thread as the page starts, so the first dance waits for none of it: loaded at the
    first request, the model made it 11 s slower than `bopbot dance`, and the imports 1 to 3 s."""

    def __init__(self, folder: str | os.PathLike | None, results: Results):
        self.folder, self.results = folder, results
        self.loaded: dict = {}
        self.gif_starts: dict[str, int] = {}  # each dance's video: the frame its GIF starts at (`render.gif_start`)
        self._lock = threading.Lock()
        threading.Thread(target=self._warm_up, name="bopbot-warm-up", daemon=True).start()

    def _warm_up(self) -> None:
        try:
            self.model("gpt2")
        except Exception:  # a damaged model is reported when a dance asks for it
            pass
        from ..choreography import choreograph, dance  # noqa: F401  (scipy, the drawing, x264)
        from ..ingest import pose_detector, video  # noqa: F401  (mediapipe, OpenCV, PyAV)
        from ..models import travel  # noqa: F401
        from ..music import beats, onsets, retime, tracker  # noqa: F401  (what a song's beats need)

    def model(self, generator: str):
        from ..models.model_folder import Choreographer

        with self._lock:
            if generator not in self.loaded:
                self.loaded[generator] = Choreographer.load(self.folder, generator)
            return self.loaded[generator]

    def dance(self, video: str | None, primer: bool, seconds: float, generator: str, temperature: float | None,
              seed: float | None, layout: str, music: str | None, max_clip_seconds: float, progress,
              music_from_start: bool = False, exports: list[str] | None = None, top_k: int | None = None,
              top_p: float | None = None, echo: float | None = None) -> tuple:
        """(MP4, the new dance's words, what happened, [its poses as .npz, and the `exports` as a zip
        if any were asked for]): `bopbot dance` on the upload, or `demo`'s primer. Its GIF is `gif`'s
        work, a step of its own after the video shows. The sampling settings (None: the default) are
        held to the command line's ranges, and given to the dance where `generator` reads them; the
        others are left out, said in the line where they are not the default (module docs)."""
        from ..choreography.export import EXPORTS
        from ..choreography.render import LAYOUTS, gif_start
        from ..ingest.extract import kind_of
        from ..models.generators import READS
        from ..models.sampling import Sampling
        from .api import Dancer
        from .limits import check_number

        started = time.monotonic()
        if layout not in LAYOUTS:
            raise BopBotError(None, f"the layout must be one of {', '.join(LAYOUTS)}")
        if not 1 <= seconds <= MAX_NEW_SECONDS:
            raise BopBotError(None, f"the new dance lasts 1 to {MAX_NEW_SECONDS} s, not {seconds:g}")
        settings = {"temperature": temperature, "top_k": top_k, "top_p": top_p, "echo": echo}
        for name, value in settings.items():
            check_number(name, value, SETTINGS[name])
        reads = READS.get(generator, ())
        given = {name: value for name, value in settings.items() if value is not None and name in reads}
        left_out = [SETTINGS[name] for name, value in settings.items()
                    if value is not None and name not in given and value != getattr(Sampling(), name)]
        if not primer and not video:
            raise BopBotError(None, "drop a dance video first (or record one, or dance the demo)")
        if not primer and kind_of(Path(video)) != "video":  # a pose file may name files on this server
            raise BopBotError(None, f"{Path(video).name} is not a video: the page dances from a video of you "
                                    "(dance pose and motion-capture files with `bopbot dance` on your own computer)")
        # its bar, and the drawing's, show on the page; a clip is measured as it is decoded
        progress(0.0, desc="choreographing" if primer else "finding the dancer in your video")
        exports = list(exports or [])
        unknown = [kind for kind in exports if kind not in EXPORTS]
        if unknown:
            raise BopBotError(None, f"the exports are {', '.join(EXPORTS)}, not {', '.join(map(str, unknown))}")
        folder = self.results.new_folder()
        video_file = folder / "bopbot-dance.mp4"
        try:  # the clip's part of the video is encoded while the clip is read
            new = Dancer(self.model(generator), progress=True).dance(
                None if primer else video, seconds, music, None if seed is None or seed < 0 else int(seed),
                layout=layout, max_seconds=max_clip_seconds, save_to=video_file, **given,
                music_from_start=bool(music_from_start and music))  # ticked without a song: the API refuses that
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        for gone in [video for video in list(self.gif_starts) if not Path(video).is_file()]:  # results kept an hour
            self.gif_starts.pop(gone, None)
        self.gif_starts[str(video_file)] = gif_start(layout, len(new.user.keypoints), 20)
        files = [str(new.save_poses(folder / "bopbot-dance.npz"))]
        if exports:
            progress(0.0, desc="exporting")
            for kind in exports:
                new.export(kind, folder / "exports" / kind)
            files.append(str(_zipped(folder / "exports", folder / "bopbot-dance-exports.zip")))
        found = (f"the demo's {new.written.context_words / 20:g} s primer" if primer else  # no dance of yours
                 f"{new.written.context_words / 20:g} s of your dance found ({new.user.frames_without_dancer} frames "
                 "without a dancer)")
        said = (f"{found}, {len(new.keypoints) / 20:g} s of new dance by `{generator}`, "
                f"{len(set(new.words))} different pose words; {time.monotonic() - started:.1f} s.")
        if left_out:
            said += (f" `{generator}` does not read {' or '.join(left_out)}: "
                     f"{'it was' if len(left_out) == 1 else 'they were'} left out.")
        if new.music is not None:
            said += f" Danced to the music: {new.beats} beats at {new.tempo:.0f} a minute, {new.phrasing}."
            if new.unheard_seconds >= 0.5:
                said += (f" Its sound ends {len(new.keypoints) / 20 - new.unheard_seconds:.1f} s into the new dance, "
                         "which dances on to its beat in silence (give a song for music under all of it).")
        return str(video_file), " ".join(new.words), said, files

    def gif(self, video: str | None, progress) -> str:
        """The GIF of a dance's video (made by `dance` in this session), beside it. The page asks for
        it once the video shows: made with the video, it held the video back 2 to 3 s; after it, in the
        same step, it held back the step's end and with it a script's answer, which rarely wants one."""
        from ..choreography.render import gif_of_video

        if not video:
            raise BopBotError(None, "dance first: the GIF is made from the dance's video")
        video_file = Path(video)
        if video_file.parent.parent != self.results.root or not video_file.is_file():
            raise BopBotError(None, "this dance's files have been removed (they are kept for an hour): dance again")
        progress(0.0, desc="making the GIF")
        gif_file = video_file.with_suffix(".gif")
        if not gif_file.is_file():
            gif_of_video(video_file, gif_file, progress=True, start=self.gif_starts.get(str(video_file), 0))
        return str(gif_file)


def _zipped(folder: Path, path: Path) -> Path:
    """Every file under `folder` into the zip `path`, named relative to it (`openpose/...`)."""
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(folder).as_posix())
    return path


def build_app(model_folder: str | os.PathLike | None = None, max_clip_seconds: float = MAX_CLIP_SECONDS,
              results: Results | None = None):
    """The Gradio Blocks app (not yet launched), keeping what it makes in `results` (a new private
    folder when None; Gradio's own files go there too)."""
    results = results if results is not None else Results()
    os.environ["GRADIO_TEMP_DIR"] = str(results.gradio)  # Gradio's uploads and copies: private too
    import gradio as gr
    import matplotlib  # noqa: F401  Gradio reads its backend at every request: imported for real before the
    # warm-up imports mediapipe, which would otherwise stand it in while it imports (`pose_detector`)

    from ..choreography.export import EXPORTS
    from ..choreography.render import LAYOUTS
    from ..models.generators import MUSIC_FOLDER, NAMES
    from ..models.model_folder import DEFAULT_MODEL
    from ..models.sampling import Sampling
    from .limits import LIMITS

    dancer = Dancer(model_folder, results)
    folder = Path(model_folder) if model_folder is not None else DEFAULT_MODEL
    generators = [g for g in NAMES if g != "gpt2-music" or (folder / MUSIC_FOLDER).is_dir()]

    def run(video, seconds, generator, temperature, seed, layout, music, music_from_start=False, exports=None,
            top_k=None, top_p=None, echo=None, primer=False, progress=gr.Progress(track_tqdm=True)):
        """The dance's outputs, the GIF's place emptied, and its video kept in the session for `run_gif`."""
        try:
            video_file, *shown = dancer.dance(video, primer, seconds, generator, temperature, seed, layout, music,
                                              max_clip_seconds, progress, music_from_start, exports, top_k, top_p,
                                              echo)
        except Exception as exc:
            raise gr.Error(_said_on_the_page(exc, results.root), print_exception=False) from None
        return video_file, None, *shown, video_file

    run_demo = functools.partial(run, primer=True)  # of `run`'s signature: a script names its values as for /dance

    def run_gif(video_file, progress=gr.Progress(track_tqdm=True)):
        try:
            return dancer.gif(video_file, progress)
        except Exception as exc:
            raise gr.Error(_said_on_the_page(exc, results.root), print_exception=False) from None

    with gr.Blocks(title="BopBot, the AI dancer", analytics_enabled=False,
                   delete_cache=(KEEP_RESULTS_SECONDS, KEEP_RESULTS_SECONDS)) as app:  # Gradio's copies too
        gr.Markdown("# BopBot, the AI dancer\nDrop a video of yourself dancing (or record one); "
                    "the bopbot dancer watches it and keeps dancing.")
        with gr.Row():
            with gr.Column():
                video = gr.Video(label="your dance", sources=["upload", "webcam"])
                music = gr.Audio(label="a song to dance to (optional)", type="filepath", sources=["upload"])
                seconds = gr.Slider(1, MAX_NEW_SECONDS, value=10, step=1, label="seconds of new dance")
                with gr.Row():
                    generator = gr.Dropdown(generators, value="gpt2", label="generator")
                    layout = gr.Dropdown(list(LAYOUTS), value="continue", label="layout", elem_id="layout")
                    seed = gr.Number(value=-1, precision=0, minimum=-1, maximum=2**32 - 1,
                                     label="seed (-1: a new dance each time)")
                with gr.Row():
                    music_from_start = gr.Checkbox(False, label="the song plays under my clip too",
                                                   info="continue and skeleton layouts: the others always play "
                                                        "the song from the start")
                    exports = gr.CheckboxGroup(list(EXPORTS), value=[], label="also export, as a zip",
                                               elem_id="exports")
                defaults = Sampling()  # the command line's, `bopbot dance`'s
                with gr.Accordion("More settings", open=False, elem_id="more-settings"):
                    gr.Markdown("How the model draws each next pose word. Those a generator does not read are "
                                "left out (the line after the dance says so).")
                    with gr.Row():
                        temperature = gr.Slider(0.1, 2.0, value=defaults.temperature, step=0.05,
                                                label=SETTINGS["temperature"],
                                                info="below 1: the likelier words more often; above 1: the rarer ones")
                        top_k = gr.Number(defaults.top_k, precision=0, minimum=0, maximum=LIMITS["top_k"][1],
                                          label=SETTINGS["top_k"],
                                          info="GPT-2s: draw from the K likeliest words (0: all)")
                    with gr.Row():
                        top_p = gr.Slider(0.01, 1.0, value=defaults.top_p, step=0.01, label=SETTINGS["top_p"],
                                          info="GPT-2s: draw from the likeliest words that hold this much of the "
                                               "chance (1: all)")
                        echo = gr.Slider(0.0, 10.0, value=defaults.echo, step=0.5, label=SETTINGS["echo"],
                                         info="GPT-2s: favour your own pose words by this many nats, fading over the "
                                              "first seconds (0: off)")
                with gr.Row():
                    go = gr.Button("Dance", variant="primary")
                    demo = gr.Button("Dance the demo")
            with gr.Column():
                out_video = gr.Video(label="the bopbot dancer", elem_id="result-video")
                out_gif = gr.File(label="GIF", elem_id="result-gif")
                words = gr.Textbox(label="the new dance as pose words", lines=3, elem_id="result-words")
                summary = gr.Markdown(elem_id="result-summary")
                files = gr.File(label="the new dance's poses (.npz) and exports (.zip)", file_count="multiple",
                                elem_id="result-files")
        danced = gr.State(None)  # the session's last video, kept on the server: the GIF is made from it
        for field in (seconds, temperature, generator, layout, seed, exports, top_k, top_p, echo):
            _checked_on_the_page(field)
        inputs = [video, seconds, generator, temperature, seed, layout, music, music_from_start, exports, top_k, top_p,
                  echo]
        outputs = [out_video, out_gif, words, summary, files, danced]
        go.click(run, inputs, outputs, api_name="dance").success(run_gif, danced, out_gif, api_name="gif")
        demo.click(run_demo, inputs, outputs, api_name="demo").success(run_gif, danced, out_gif, api_name="demo_gif")
    _files_checked_on_the_page(app)
    return app


@dataclass
class RunningPage:
    """A page served in a thread: its Gradio app, its local URL, and where it keeps its files."""

    app: object
    url: str
    results: Results

    def close(self) -> None:
        """Stop the server and remove what it kept."""
        self.app.close()
        self.results.close()


def _checked_on_the_page(field) -> None:
    """Gradio checks a value sent through its API against the field (a slider's range, a dropdown's
    choices) before `run` sees it, in words that do not name the field and with a traceback in the
    server's terminal. Here the page says which field and what it takes, and the terminal stays quiet."""
    import gradio as gr

    gradio_check = field.preprocess
    if isinstance(field, (gr.Slider, gr.Number)):
        takes = f"a number from {_plain(field.minimum)} to {_plain(field.maximum)}"
    else:
        some = "any" if isinstance(field, gr.CheckboxGroup) else "one"
        takes = f"{some} of " + ", ".join(str(value) for _, value in field.choices)

    def preprocess(payload):
        try:
            return gradio_check(payload)
        except (gr.Error, TypeError, ValueError):
            sent = repr(payload)
            sent = sent if len(sent) <= 40 else sent[:37] + "..."
            raise gr.Error(f"{field.label}: takes {takes}, not {sent}", print_exception=False) from None

    field.preprocess = preprocess


def _files_checked_on_the_page(app) -> None:
    """Gradio refuses a file that was not uploaded to the page (a script naming a path on the server)
    or a file field that names no file, before any field's own check: with a traceback in the
    server's terminal and no message on the page. Here the page says so, and the terminal stays quiet."""
    import gradio as gr
    from gradio.exceptions import InvalidPathError
    from pydantic import ValidationError

    gradio_preprocess = app.preprocess_data

    async def preprocess_data(*args, **kwargs):
        try:
            return await gradio_preprocess(*args, **kwargs)
        except (InvalidPathError, ValidationError):
            raise gr.Error("your dance and the song must be files uploaded to the page: upload them, then dance",
                           print_exception=False) from None

    app.preprocess_data = preprocess_data


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


def _said_on_the_page(exc: Exception, root: Path) -> str:
    """What the page says of a failed dance: BopBot's one line, naming the file as the user named it
    and no path of the server's (`root` and what lies in it); a file the system refused, likewise;
    anything else is a bug, whose traceback goes to the server's console only."""
    if isinstance(exc, OSError) and exc.filename is not None:
        exc = os_error(exc)
    if not isinstance(exc, BopBotError):
        traceback.print_exception(exc)
        return f"unexpected {type(exc).__name__}: a bug, whose details are in the server's log"
    said = exc.problem if exc.path is None else f"{Path(exc.path).name}: {exc.problem}"
    return shown(re.sub(re.escape(str(root)) + r"/(\S*/)?", "", said))


def serve(host: str = "127.0.0.1", port: int = 7860, model_folder: str | os.PathLike | None = None,
          max_upload_mb: float = MAX_UPLOAD_MB, max_clip_seconds: float = MAX_CLIP_SECONDS,
          block: bool = True, results: str | os.PathLike | None = None):
    """Start the page, keeping its files in `results` (a new private folder when None; see the module
    docs). With `block`, serve until Ctrl-C, SIGTERM or SIGHUP, then remove them; else return the
    `RunningPage`, served in a thread until it is closed (or the process ends)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    _check_port(host, port)
    stop = threading.Event()
    if block:  # from before the server starts: a stop that comes while it starts is kept for the loop
        for name in ("SIGTERM", "SIGHUP"):
            signal.signal(getattr(signal, name), lambda *_: stop.set())
    kept = Results(results)
    app = build_app(model_folder, max_clip_seconds, kept)
    app.queue(default_concurrency_limit=1, max_size=32)
    try:
        # no run history: the browser kept links to dances swept an hour later ("Load run" showed an empty
        # video and dead downloads), and offered to copy the dances into a Hugging Face bucket
        launched = app.launch(server_name=host, server_port=port, max_file_size=f"{max_upload_mb:g}mb",
                              prevent_thread_lock=True, show_error=False, quiet=True, inbrowser=False,
                              run_history=False)
    except OSError as exc:  # taken between the check and the start
        kept.close()
        raise BopBotError(None, f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    if not block:
        return RunningPage(app, launched[1], kept)
    # Gradio's own start-up lines offer `share=True` in `launch()`, which a command-line user cannot give
    print(f"BopBot's page is at {launched[1]} (Ctrl-C to stop)", flush=True)
    try:
        while not stop.wait(0.25):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        print("bopbot: stopping the page and removing its results", file=sys.stderr)
        app.close()
        kept.close()
    return None


def _check_port(host: str, port: int) -> None:
    """Raise a BopBotError saying why the page cannot listen on host:port (taken, not allowed)."""
    import socket

    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        raise BopBotError(None, f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
