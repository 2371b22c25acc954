"""`bopbot serve`: the web page. A dancer drops a video (or films one with the webcam), and watches
the bopbot dancer carry on.

It is a Gradio app over the same pipeline as `bopbot dance`: `user_dance.read_user_dance`, then
`dance.dance` with a model folder loaded once per generator and kept. Gradio's queue runs one
dance at a time per worker and shows the others their place in line. Limits: uploads up to
`--max-upload-mb`, clips up to `--max-clip-seconds`, new dances up to `MAX_NEW_SECONDS`. Each
dance is written into a folder of its own under the system's temporary folder; folders older than
`KEEP_RESULTS_SECONDS` are removed at every request and when the server stops. Bad input is a
message on the page (BopBot's one line), never a stack trace. It binds to 127.0.0.1 unless told
otherwise, and serves no file outside its own folders.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

from ..errors import BopBotError

MAX_UPLOAD_MB = 200
MAX_CLIP_SECONDS = 120.0
MAX_NEW_SECONDS = 60
#: Results are kept this long for the page to show and download them.
KEEP_RESULTS_SECONDS = 3600
RESULTS = Path(tempfile.gettempdir()) / "bopbot-serve"
LAYOUTS = ("continue", "side-by-side", "dancer-only")


def _sweep(older_than: float = KEEP_RESULTS_SECONDS) -> None:
    """Remove result folders older than `older_than` seconds."""
    if not RESULTS.is_dir():
        return
    now = time.time()
    for folder in RESULTS.iterdir():
        if now - folder.stat().st_mtime > older_than:
            shutil.rmtree(folder, ignore_errors=True)


class Dancer:
    """The model folder's generators, each loaded on first use and kept. The GPT-2 starts loading
    (and librosa compiling its beat tracker) in a thread as the page starts, so the first dance
    waits for neither: loaded at the first request, they made it 11 s slower than `bopbot dance`."""

    def __init__(self, folder: str | os.PathLike | None):
        self.folder = folder
        self.loaded: dict = {}
        self._lock = threading.Lock()
        threading.Thread(target=self._warm_up, name="bopbot-warm-up", daemon=True).start()

    def _warm_up(self) -> None:
        try:
            self.model("gpt2")
            import librosa.beat  # noqa: F401  (compiles its beat tracker at import: seconds, once)
        except Exception:  # a damaged model is reported when a dance asks for it
            pass

    def model(self, generator: str):
        from ..models.model_folder import Choreographer

        with self._lock:
            if generator not in self.loaded:
                self.loaded[generator] = Choreographer.load(self.folder, generator)
            return self.loaded[generator]

    def dance(self, video: str | None, primer: bool, seconds: float, generator: str, temperature: float,
              seed: float | None, layout: str, music: str | None, max_clip_seconds: float, progress) -> tuple:
        """(MP4, GIF, the new dance's words, what happened): `bopbot dance` on the upload, or `demo`'s primer."""
        from ..choreography.dance import dance
        from ..choreography.user_dance import primer_dance, read_user_dance
        from ..ingest.video import probe
        from ..models.sampling import Sampling
        from ..music.audio import check_music

        started = time.monotonic()
        _sweep()
        if layout not in LAYOUTS:
            raise BopBotError(None, f"the layout must be one of {', '.join(LAYOUTS)}")
        if not 0 < seconds <= MAX_NEW_SECONDS:
            raise BopBotError(None, f"the new dance lasts 1 to {MAX_NEW_SECONDS} s, not {seconds:g}")
        sampling = Sampling(temperature, seed=None if seed is None or seed < 0 else int(seed))
        sampling.check()
        if music:
            check_music(music)
        if primer:
            user, layout = primer_dance(self.folder), "continue"
        else:
            if not video:
                raise BopBotError(None, "drop a dance video first (or record one, or dance the demo)")
            clip = probe(video)
            if clip.duration > max_clip_seconds:
                raise BopBotError(Path(video).name, f"is {clip.duration:.0f} s long; this page takes clips of "
                                                    f"up to {max_clip_seconds:g} s")
            progress(0.0, desc="finding the dancer in your video")
            user = read_user_dance(video, progress=True)  # its bar, and the drawing's, show on the page
        progress(0.0, desc="choreographing and drawing the bopbot dancer")
        folder = RESULTS / uuid.uuid4().hex
        result = dance(self.model(generator), user, folder / "bopbot-dance.mp4", seconds, sampling, layout,
                       gif=True, song=music, progress=True)
        said = (f"{result.context_words / 20:g} s of your dance found ({user.sequence.frames_without_dancer} frames "
                f"without a dancer), {result.new_frames / 20:g} s of new dance by `{generator}`, "
                f"{len(set(result.new_words))} different pose words; {time.monotonic() - started:.1f} s.")
        if result.music is not None:
            said += f" Danced to the music: {result.beats} beats at {result.tempo:.0f} a minute."
        return str(result.video), str(result.gif), " ".join(result.new_words), said


def build_app(model_folder: str | os.PathLike | None = None, max_clip_seconds: float = MAX_CLIP_SECONDS):
    """The Gradio Blocks app (not yet launched)."""
    import gradio as gr

    from ..models.generators import MUSIC_FOLDER, NAMES
    from ..models.model_folder import DEFAULT_MODEL

    dancer = Dancer(model_folder)
    folder = Path(model_folder) if model_folder is not None else DEFAULT_MODEL
    generators = [g for g in NAMES if g != "gpt2-music" or (folder / MUSIC_FOLDER).is_dir()]

    def run(video, seconds, generator, temperature, seed, layout, music, primer=False,
            progress=gr.Progress(track_tqdm=True)):
        try:
            return dancer.dance(video, primer, seconds, generator, temperature, seed, layout, music, max_clip_seconds,
                                progress)
        except BopBotError as exc:  # said of the file as the user named it, not of Gradio's copy
            said = exc.problem if exc.path is None else f"{Path(exc.path).name}: {exc.problem}"
            raise gr.Error(said, print_exception=False) from None

    with gr.Blocks(title="BopBot, the AI dancer", analytics_enabled=False,
                   delete_cache=(KEEP_RESULTS_SECONDS, KEEP_RESULTS_SECONDS)) as app:  # Gradio's copies too
        gr.Markdown("# BopBot, the AI dancer\nDrop a video of yourself dancing (or record one); "
                    "the bopbot dancer watches it and keeps dancing.")
        with gr.Row():
            with gr.Column():
                video = gr.Video(label="your dance", sources=["upload", "webcam"])
                music = gr.Audio(label="a song to dance to (optional)", type="filepath", sources=["upload"])
                with gr.Row():
                    seconds = gr.Slider(1, MAX_NEW_SECONDS, value=10, step=1, label="seconds of new dance")
                    temperature = gr.Slider(0.1, 2.0, value=1.0, step=0.05, label="temperature")
                with gr.Row():
                    generator = gr.Dropdown(generators, value="gpt2", label="generator")
                    layout = gr.Dropdown(list(LAYOUTS), value="continue", label="layout")
                    seed = gr.Number(value=-1, precision=0, minimum=-1, maximum=2**32 - 1,
                                     label="seed (-1: a new dance each time)")
                with gr.Row():
                    go = gr.Button("Dance", variant="primary")
                    demo = gr.Button("Dance the demo")
            with gr.Column():
                out_video = gr.Video(label="the bopbot dancer", elem_id="result-video")
                out_gif = gr.File(label="GIF", elem_id="result-gif")
                words = gr.Textbox(label="the new dance as pose words", lines=3, elem_id="result-words")
                summary = gr.Markdown(elem_id="result-summary")
        inputs = [video, seconds, generator, temperature, seed, layout, music]
        outputs = [out_video, out_gif, words, summary]
        go.click(run, inputs, outputs, api_name="dance")
        demo.click(lambda *values, progress=gr.Progress(track_tqdm=True): run(*values, primer=True, progress=progress),
                   inputs, outputs, api_name="demo")
    return app


def serve(host: str = "127.0.0.1", port: int = 7860, model_folder: str | os.PathLike | None = None,
          max_upload_mb: float = MAX_UPLOAD_MB, max_clip_seconds: float = MAX_CLIP_SECONDS,
          block: bool = True):
    """Start the page; with `block` False, return (app, local URL) with the server running in a thread."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    app = build_app(model_folder, max_clip_seconds)
    app.queue(default_concurrency_limit=1, max_size=32)
    launched = app.launch(server_name=host, server_port=port, max_file_size=f"{max_upload_mb:g}mb",
                          prevent_thread_lock=not block, show_error=False, quiet=not block, inbrowser=False)
    if block:
        _sweep(older_than=0)
        return None
    return app, launched[1]
