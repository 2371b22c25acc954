"""BopBot: watch a dance, understand it as a sequence of poses, and keep dancing."""

__version__ = "0.1.0"
