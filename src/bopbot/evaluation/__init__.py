"""The evaluation: motion and word metrics, intervals, the run over held-out dances (`evaluate`) and its report."""
