"""Do the pose words keep the beat? Training dances played on their song's beat, then turned into
words and moved back by `word_motion` and by the model's word decoder, each scored with the Beat
Align Score against its song, beside the same dance against the song moved 1 to 5 s (the null).

The dances: every training-split dance of the corpus that has a song, filmed from yaw 0
unmirrored and at least 5 s long. Each is played on its song's beat
as the music-aware GPT-2 is trained on it (`train.on_the_beat`). Means over dances with 95%
bootstrap intervals (1,000 resamples of the dances).

Run: .venv/bin/python docs/beat_words.py --corpus build/train-corpus [--model DIR]
"""

from __future__ import annotations

import argparse

import numpy as np

from bopbot.data.corpus import Corpus
from bopbot.data.pose_sequence import CORPUS_FPS
from bopbot.models.decoder import WordMover, load_decoder
from bopbot.models.model_folder import DEFAULT_MODEL
from bopbot.models.train import on_the_beat
from bopbot.models.training import is_validation
from bopbot.music.beats import beat_alignment, motion_beats, music_beats
from bopbot.vocabulary.vocabulary import PoseVocabulary


def interval(values: np.ndarray, rng: np.random.Generator) -> str:
    means = [values[rng.integers(0, len(values), len(values))].mean() for _ in range(1000)]
    return f"{values.mean():.3f} [{np.percentile(means, 2.5):.3f}, {np.percentile(means, 97.5):.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    args = parser.parse_args()
    vocabulary = PoseVocabulary.load(args.model)
    decoder = load_decoder(args.model, vocabulary)
    movers = {"word_motion": WordMover(vocabulary)} | ({"decoder": WordMover(vocabulary, decoder)} if decoder else {})
    dances = [s for info, sequences in Corpus(args.corpus).shards() if not is_validation(info["input"], 0.1, 0)
              for s in sequences if s.meta.get("audio") and float(s.meta.get("yaw", 0)) == 0
              and not s.meta.get("mirror") and len(s.poses) >= 5 * CORPUS_FPS]
    rng = np.random.default_rng(0)
    scores: dict[str, list[tuple[float, float]]] = {}
    for sequence in dances:
        played, _ = on_the_beat(sequence)
        track = music_beats(sequence.meta["audio"])
        start, seconds = float(sequence.meta.get("audio_offset", 0.0)), len(played) / CORPUS_FPS
        ids = vocabulary.encode(played)
        ways = {"played on the beat": played}
        for name, mover in movers.items():
            ways[f"as words, moved by {name}" + (", low-passed" if mover.low_pass else "")] = mover.movement(ids)
        for name, poses in ways.items():
            score, null = beat_alignment(motion_beats(poses, CORPUS_FPS), track, start, seconds)
            if null is not None:
                scores.setdefault(name, []).append((score, null))
    print(f"{len(dances)} training dances with a song, played on its beat")
    print("| the training dance | Beat Align | null |\n|---|---:|---:|")
    for name, pairs in scores.items():
        values = np.array(pairs)
        print(f"| {name} | {interval(values[:, 0], rng)} | {values[:, 1].mean():.3f} |")


if __name__ == "__main__":
    main()
