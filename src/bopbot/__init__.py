"""BopBot: watch a dance, understand it as a sequence of poses, and keep dancing.

The package is grouped by stage, in the order data flows; each imports only the stages above it
(`tests/test_layout.py` checks this and that no module imports itself back):

- `errors`, `files`, `reading`, `ahead`, `workers`: the plumbing every stage may use (one-line
  errors, atomic writes, files read as checked, work done ahead in a thread, worker processes
  started safely under Ctrl-C);
- `data`: the skeleton, PoseSequence, normalisation, movement limits, the corpus on disk;
- `ingest`: videos, keypoint and mocap files in, as PoseSequences; many inputs into a corpus;
- `music`: songs, their beats and per-frame features, a dance played on the beat;
- `vocabulary`: the pose words (k-means) and words back into movement;
- `models`: the generators, the travel model, their training, the model folder;
- `choreography`: the user's dance continued on their canvas and drawn as the bopbot dancer;
- `evaluation`: the generators measured on held-out dances;
- `app`: the command line (a module per verb) and the web page.

From Python, `bopbot.Dancer` and `bopbot.extract` (`app/api.py`) do what the command line's
verbs do:

    import bopbot
    new = bopbot.Dancer.load().dance("me.mp4", seconds=10, seed=0)
    new.save("next.mp4")

The package and stage modules import nothing themselves, so `bopbot --help` stays fast: `Dancer`
and `extract` are imported when first asked for.
"""

__version__ = "0.1.0"
__all__ = ["Dancer", "extract"]


def __getattr__(name: str):
    if name in __all__:
        from .app import api

        return getattr(api, name)
    raise AttributeError(f"module 'bopbot' has no attribute {name!r}")
