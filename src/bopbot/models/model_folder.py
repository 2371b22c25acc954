"""The model folder: everything a choreographer needs, in one directory a user can copy.

- `config.json`, `model.safetensors`, `generation_config.json`: the GPT-2 (`save_pretrained`);
- `music/`: the music-aware GPT-2 and its tokenizer, the same files, optional;
- `tokenizer.json`, `tokenizer_config.json`: the WordLevel tokenizer over the pose words;
- `vocabulary.safetensors`: the word poses (centroids) with the words in its metadata;
- `travel.safetensors`, `travel.json`: where the dancer goes (`models.travel`), optional;
- `decoder.safetensors`, `decoder.json`: the words turned back into movement (`models.decoder`),
  optional (without it, `word_motion`'s curve);
- `bopbot.json`: what the pipeline needs besides: fps, skeleton, normalisation, the primer (a few
  seconds of real dance as words, for `bopbot demo`), and a summary of the training data.
Everything loads from safetensors and JSON; nothing is ever unpickled.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..data.pose_sequence import CORPUS_FPS
from ..data.skeleton import JOINTS
from ..errors import BopBotError
from ..files import folder_problem, write_text_atomic
from ..reading import read_json
from ..vocabulary.vocabulary import PoseVocabulary

PIPELINE_FILE = "bopbot.json"
#: What training leaves in a model folder, each made for its vocabulary: a new vocabulary over any
#: of them would leave them unusable.
TRAINED = ("model.safetensors", "checkpoint", "music", "lstm.safetensors", "lstm-checkpoint", "travel.safetensors",
           "ngram.safetensors", "sentences.safetensors", "decoder.safetensors")
DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "default_model"


def pipeline_info(**extra) -> dict:
    """The `bopbot.json` content every model folder starts with."""
    return {
        "fps": CORPUS_FPS,
        "skeleton": "COCO-17",
        "joints": list(JOINTS),
        "normalisation": "per frame: centred on mid-hip, divided by torso length (see bopbot.data.normalise)",
        **extra,
    }


def read_pipeline_info(folder: str | os.PathLike) -> dict:
    path = Path(folder) / PIPELINE_FILE
    if not os.path.lexists(path):
        return pipeline_info()
    info = read_json(path)
    if not isinstance(info, dict):
        raise BopBotError(path, f"corrupt JSON: an object is expected, not a {type(info).__name__}")
    return info


def update_pipeline_info(folder: str | os.PathLike, **changes) -> dict:
    """Merge `changes` into the folder's `bopbot.json` (written atomically)."""
    info = read_pipeline_info(folder)
    info.update(changes)
    write_text_atomic(Path(folder) / PIPELINE_FILE, json.dumps(info, indent=2))
    return info


def check_model_folder(folder: str | os.PathLike) -> None:
    """A BopBotError naming `folder` unless it is a folder (a link to one will do)."""
    problem = folder_problem(folder)
    if problem is not None:
        raise BopBotError(folder, "no such model folder" if problem == "missing" else f"the model folder is {problem}")


@dataclass
class Choreographer:
    """A loaded model folder: the pose vocabulary, and one generator, which moves its words by the
    folder's decoder (`models.decoder.WordMover`)."""

    folder: Path
    vocabulary: PoseVocabulary
    generator: object
    #: Where the dancer goes (`models.travel`); None for a folder without one.
    travel: object = None

    @classmethod
    def load(cls, folder: str | os.PathLike | None = None, generator: str = "gpt2") -> "Choreographer":
        """Load `folder` (the model embedded in BopBot when None) with the generator `generator`."""
        from .decoder import WordMover, load_decoder
        from .generators import load_generator
        from .travel import load_travel

        if folder is not None and not os.fspath(folder):  # Path("") would be the current folder
            raise BopBotError(None, "the model folder's name is empty: name a folder (or leave it out for the embedded model)")
        folder = Path(folder) if folder is not None else DEFAULT_MODEL
        check_model_folder(folder)
        read_pipeline_info(folder)  # a damaged bopbot.json is refused as the folder loads, as its other files are
        vocabulary = PoseVocabulary.load(folder)
        mover = WordMover(vocabulary, load_decoder(folder, vocabulary))
        loaded = load_generator(generator, folder, vocabulary, mover=mover)
        return cls(folder, vocabulary, loaded, load_travel(folder))
