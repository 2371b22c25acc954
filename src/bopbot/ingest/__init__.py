"""Poses in: decode videos, read keypoint and motion-capture files into PoseSequences, and build corpora."""
