"""BopBot: watch a dance, understand it as a sequence of poses, and keep dancing.

The package is grouped by stage, in the order data flows; each imports only the stages above it
(`tests/test_layout.py` checks this and that no module imports itself back):

- `errors`, `files`, `ahead`: the plumbing every stage may use (one-line errors, atomic writes,
  work done ahead in a thread);
- `data`: the skeleton, PoseSequence, normalisation, movement limits, the corpus on disk;
- `ingest`: videos, keypoint and mocap files in, as PoseSequences; many inputs into a corpus;
- `music`: songs, their beats and per-frame features, a dance played on the beat;
- `vocabulary`: the pose words (k-means) and words back into movement;
- `models`: the generators, the travel model, their training, the model folder;
- `choreography`: the user's dance continued on their canvas and drawn as the bopbot dancer;
- `evaluation`: the generators measured on held-out dances;
- `app`: the command line (a module per verb) and the web page.

The package and stage modules import nothing themselves, so `bopbot --help` stays fast.
"""

__version__ = "0.1.0"
