"""`bopbot`, the program (its console script) and `python -m bopbot`: the command line, a Ctrl-C
while it starts said in one line (`app.startup`)."""

import sys


def main() -> int:
    from .app import startup

    startup.say_ctrl_c()  # before the command line's imports: a Ctrl-C during them is said in one line
    from .app.cli import main as run

    return run()


if __name__ == "__main__":  # a spawned worker (`bopbot.choreography.model_process`) imports this module again
    sys.exit(main())
