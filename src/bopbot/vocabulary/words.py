"""Made-up five-letter pose words, as the original system named its poses ("bikmm ...").

Words are drawn deterministically (a seeded generator over consonant/vowel patterns) and every
English word is skipped, so a word never reads as something it is not. The list depends only on
how many words are asked for: word i is the same in every vocabulary of at least i + 1 words.
"""

from __future__ import annotations

import numpy as np

WORD_LENGTH = 5
CONSONANTS = "bcdfghjklmnpqrstvwxz"
VOWELS = "aeiouy"
#: C = consonant, V = vowel; all give five letters. 4 patterns x >= 80,000 words each.
PATTERNS = ("CVCVC", "CVCCV", "VCCVC", "CVVCC")
SEED = 5_2000
MAX_WORDS = 200_000


def _english_words() -> set[str]:
    """Five-letter English words to avoid (web2 and GCIDE lists of the english-words package)."""
    from english_words import get_english_words_set

    return {w for w in get_english_words_set(["web2", "gcide"], lower=True) if len(w) == WORD_LENGTH}


def _letters(pattern: str, rng: np.random.Generator) -> str:
    return "".join(
        CONSONANTS[rng.integers(len(CONSONANTS))] if kind == "C" else VOWELS[rng.integers(len(VOWELS))]
        for kind in pattern
    )


def made_up_words(count: int) -> list[str]:
    """`count` distinct lowercase five-letter non-English words, always in the same order."""
    if not 0 < count <= MAX_WORDS:
        raise ValueError(f"can make 1 to {MAX_WORDS} words, not {count}")
    english = _english_words()
    rng = np.random.default_rng(SEED)
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < count:
        word = _letters(PATTERNS[len(words) % len(PATTERNS)], rng)
        if word not in seen and word not in english:
            seen.add(word)
            words.append(word)
    return words
