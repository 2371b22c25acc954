"""Pose words: the k-means vocabulary (fit, encode, decode), its made-up words, and words back into movement."""
