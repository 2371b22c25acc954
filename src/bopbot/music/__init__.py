"""Music: reading songs, their beats and per-frame features, and playing a dance on the beat."""
