"""`python -m bopbot` runs the command line."""

import sys

from .app.cli import main

if __name__ == "__main__":  # a spawned worker (`bopbot.choreography.model_process`) imports this module again
    sys.exit(main())
