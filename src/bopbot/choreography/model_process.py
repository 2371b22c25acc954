"""The model in a process of its own, loading while the user's video is read.

Reading a phone video (decoding, and MediaPipe on every kept frame) keeps both cores busy; beside
it the model loads and, when the dance follows a song, the song's beats are tracked (importing
the music analysis, decoding the song and tracking it: seconds of one core). In a thread of the same process the two contend for Python's GIL: on the 12 s 1080x1920
benchmark clip (one run each, when loading meant importing torch and transformers) the video was
read in 12.8 s and the model loaded in 10.4 s, against 9.1 s and 9.4 s in two processes. So
`bopbot dance` and `demo` load the model and write the new dance in a worker process, spawned (a
fresh interpreter: nothing is inherited, the same on every platform); only small arrays cross, the
user's poses in and the new dance out (`new_dance.NewDance`), never the video's frames. Since the
networks run in NumPy (`models/runtime.py`) the model itself loads in a fraction of a second; the
worker still takes the song's beats off the video's path.

A Python process that has already imported transformers (a test run, a notebook that trains, a
server) loads the model in place instead, when the dance is asked for: a fresh interpreter would
only import again what is already there (in the test suite, 1 to 3 s a dance became 7 to 12 s).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
from dataclasses import replace

from ..workers import ctrl_c_held


def _serve(connection, folder: str | None, generator: str, songs: list[str]) -> None:
    """The worker: load the model and track the beats of `songs`, say so (or send the error), then
    write dances until told to stop. A parent that has gone ends the worker at once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    threading.Thread(target=_end_with_parent, name="bopbot-parent-watch", daemon=True).start()
    from ..models.model_folder import Choreographer
    from ..music.beats import music_beats
    from .choreograph import choreograph

    try:
        try:
            model = Choreographer.load(folder, generator)
        except BaseException as exc:
            connection.send(("error", _portable(exc)))
            return
        for song in songs:  # kept by music_beats for the dance; a bad song is reported when it is asked for
            try:
                music_beats(song)
            except Exception:
                pass
        connection.send(("ready", None))
        while (request := connection.recv()) is not None:
            try:
                connection.send(("done", choreograph(model, *request)))
            except Exception as exc:
                connection.send(("error", _portable(exc)))
    except (EOFError, BrokenPipeError, ConnectionResetError):
        return


def _end_with_parent() -> None:
    """End this worker the moment its parent is gone, even mid-import or mid-load (a parent killed
    with -9 cannot stop it, and the pipe is read only between jobs)."""
    multiprocessing.connection.wait([multiprocessing.parent_process().sentinel])
    os._exit(1)


def _portable(exc: BaseException) -> BaseException:
    """`exc` if it survives pickling, else a RuntimeError that says what it was."""
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")


class ModelProcess:
    """A model folder (the embedded one when None) with one generator, loading in a worker process
    from the moment this is made, which also tracks the beats of `songs` (the music the dance may
    follow); `choreograph` waits for it, then writes a dance there (or `ask` now, `answer` later:
    the worker writes while this process draws the user's part of the video)."""

    def __init__(self, folder: str | os.PathLike | None = None, generator: str = "gpt2",
                 songs: list[str | os.PathLike] = ()):
        folder = None if folder is None else os.fspath(folder)
        #: The model folder (None: the embedded one).
        self.folder = folder
        #: The name of its generator.
        self.generator = generator
        self._in_place = "transformers" in sys.modules  # see the module docs
        self._ready = False
        self._asked: tuple | None = None  # the dance the worker is writing (`ask`)
        if self._in_place:
            self._folder, self._generator, self._model = folder, generator, None
            return
        context = multiprocessing.get_context("spawn")
        self._connection, theirs = context.Pipe()
        self._process = context.Process(target=_serve, args=(theirs, folder, generator, [str(s) for s in songs]),
                                        name="bopbot-model", daemon=True)
        with ctrl_c_held():  # cut short, its start-up data would kill it with a traceback
            self._process.start()
        theirs.close()

    def _receive(self):
        try:
            kind, value = self._connection.recv()
        except (EOFError, ConnectionResetError):  # reset: it ended with a request of ours unread
            from ..errors import BopBotError

            self._process.join(timeout=5)
            code = self._process.exitcode
            how = (f"killed by signal {-code}{' (out of memory?)' if code == -signal.SIGKILL else ''}"
                   if code is not None and code < 0 else f"exit code {code}")
            raise BopBotError(None, f"the model's process ended before it wrote the dance ({how}); run again") from None
        if kind == "error":
            raise value
        return value

    def ask(self, user, seconds: float | None, sampling, music=None) -> None:
        """Have the worker start writing a dance of `user` (`choreograph.choreograph`'s arguments; the
        video's frames stay here) while this process goes on; `answer` collects it. One at a time."""
        if self._asked is not None:
            raise RuntimeError("the model's process is still writing a dance; collect it with answer() first")
        self._asked = (user, seconds, sampling, music)
        if not self._in_place:
            try:
                self._connection.send((replace(user, frames=None), seconds, sampling, music))
            except (BrokenPipeError, ConnectionResetError):
                pass  # the worker has ended: `answer` reads why (its error, or its end)

    def answer(self):
        """The dance asked for with `ask` (a `NewDance`): waits for the worker to load and write it.
        In place, it is written now."""
        request, self._asked = self._asked, None
        if request is None:
            raise RuntimeError("no dance was asked of the model's process")
        if self._in_place:
            from ..models.model_folder import Choreographer
            from .choreograph import choreograph

            if self._model is None:
                self._model = Choreographer.load(self._folder, self._generator)
            return choreograph(self._model, *request)
        if not self._ready:
            self._receive()
            self._ready = True
        return self._receive()

    def choreograph(self, user, seconds: float | None, sampling, music=None):
        """`choreograph.choreograph` of `user` in the worker: `ask`, then `answer`."""
        self.ask(user, seconds, sampling, music)
        return self.answer()

    def close(self) -> None:
        """Stop the worker, at once."""
        if self._in_place:
            return
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        self._connection.close()

    def __enter__(self) -> "ModelProcess":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
