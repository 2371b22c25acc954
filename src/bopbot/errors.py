"""The one error type BopBot raises for bad input: it names the file and the problem."""

from __future__ import annotations

import os


class BopBotError(Exception):
    """A problem with an input that the user can fix; printed as one line, never a traceback."""

    def __init__(self, path: str | os.PathLike | None, problem: str):
        self.path = None if path is None else str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path else problem)

    def __reduce__(self):
        """Pickled by its path and problem, so it crosses from the model's process intact."""
        return BopBotError, (self.path, self.problem)
