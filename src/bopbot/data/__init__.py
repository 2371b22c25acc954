"""The data every stage shares: the skeleton, PoseSequence, normalisation, movement limits, the corpus on disk."""
