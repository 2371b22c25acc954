"""The web page's private folder (`Results`): a folder per dance and one for Gradio's uploads, made
for one server where no one else can enter, swept of dances older than `KEEP_RESULTS_SECONDS`, and
removed whole when the server stops; a later server removes what a killed one left (see `serve`'s
module docs).
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import stat
import tempfile
import threading
import time
import uuid
from pathlib import Path

from ..errors import BopBotError

#: Results are kept this long for the page to show and download them, and swept this often.
KEEP_RESULTS_SECONDS = 3600
SWEEP_SECONDS = 60.0
#: How the private folder a server makes (in the system's temporary folder, or in --results) is
#: named: this, the server's process id, a dash and eight random characters.
ROOT_PREFIX = "bopbot-serve-"
_DANCE_FOLDER = re.compile(r"[0-9a-f]{32}")


class Results:
    """The page's private folder (see the module docs): a folder per dance, and `gradio/` for
    Gradio's uploads and copies. It is made in `folder` (made if needed; a real folder of this
    user's that no one else can enter), else in the system's temporary folder, where the folders
    of this user's servers that were killed are removed first."""

    def __init__(self, folder: str | os.PathLike | None = None, keep_seconds: float = KEEP_RESULTS_SECONDS,
                 sweep_seconds: float = SWEEP_SECONDS):
        self.keep_seconds = keep_seconds
        parent = Path(tempfile.gettempdir()) if folder is None else _private_folder(Path(folder))
        _remove_orphaned_roots(parent)
        self.root = Path(tempfile.mkdtemp(prefix=f"{ROOT_PREFIX}{os.getpid()}-", dir=parent))
        self.gradio = self.root / "gradio"
        self.gradio.mkdir(mode=0o700, exist_ok=True)
        self._stopped = threading.Event()
        threading.Thread(target=self._sweep_every, args=(sweep_seconds,), name="bopbot-sweep", daemon=True).start()
        atexit.register(self.close)

    def new_folder(self) -> Path:
        """A new private folder for one dance."""
        folder = self.root / uuid.uuid4().hex
        folder.mkdir(mode=0o700)
        return folder

    def sweep(self, older_than: float | None = None) -> None:
        """Remove the dance folders older than `older_than` seconds (the time they are kept)."""
        older_than = self.keep_seconds if older_than is None else older_than
        now = time.time()
        for folder in self.root.iterdir():
            try:
                if _DANCE_FOLDER.fullmatch(folder.name) and now - folder.lstat().st_mtime > older_than:
                    shutil.rmtree(folder, ignore_errors=True)
            except OSError:  # removed meanwhile
                pass

    def _sweep_every(self, seconds: float) -> None:
        while not self._stopped.wait(seconds):
            self.sweep()

    def close(self) -> None:
        """Stop sweeping and remove everything the page kept: the folder made for this server."""
        self._stopped.set()
        shutil.rmtree(self.root, ignore_errors=True)


def _private_folder(folder: Path) -> Path:
    """`folder` made (0700) if it is new; else it must be a real folder (not a link) of this user's
    that others cannot enter."""
    try:
        folder.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        pass
    except OSError as exc:
        raise BopBotError(folder, f"cannot make this folder for the results: {exc.strerror or exc}") from None
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode):
        raise BopBotError(folder, "--results must be a folder (not a link or a file)")
    if info.st_uid != os.geteuid():
        raise BopBotError(folder, "--results must be a folder of your own; another user owns this one")
    if info.st_mode & 0o077:
        raise BopBotError(folder, f"others can enter this folder (mode {stat.S_IMODE(info.st_mode):o}), and "
                                  "would see every dance: give a private one (chmod 700)")
    return folder


def _remove_orphaned_roots(parent: Path) -> None:
    """Remove the private folders in `parent` of this user's servers that were killed (their process is gone)."""
    pattern = re.compile(re.escape(ROOT_PREFIX) + r"(\d+)-\w+")
    for root in parent.glob(f"{ROOT_PREFIX}*"):
        match = pattern.fullmatch(root.name)
        try:
            info = root.lstat()
            if not match or not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
                continue
            os.kill(int(match[1]), 0)
        except ProcessLookupError:
            shutil.rmtree(root, ignore_errors=True)
        except OSError:
            continue
