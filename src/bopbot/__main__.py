"""`python -m bopbot` runs the command line."""

if __name__ == "__main__":  # a spawned worker (`bopbot.choreography.model_process`) imports this module again
    import sys

    from .app.entry import main  # before the command line's imports: a Ctrl-C during them is said in one line

    sys.exit(main())
