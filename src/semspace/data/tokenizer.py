"""Word-level tokenizer built from the training texts and saved with the model's checkpoint.

Normalisation follows TIRG's ``text_model.py`` (``SimpleVocab.tokenize_text``: lower-case, drop
punctuation, split on whitespace), with two deliberate differences: apostrophes are removed inside
words (``"don't" -> "dont"``, as TIRG) but every other punctuation mark separates words
(``"red,blue" -> ["red", "blue"]`` where TIRG would glue them), and non-ASCII letters are kept
(TIRG drops them). Ids 0 and 1 are ``<pad>`` and ``<unk>``; the vocabulary is ordered by descending
frequency, ties alphabetically, so building it is deterministic.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import torch

from semspace.data.collate import pad_sequences
from semspace.errors import ConfigError

logger = logging.getLogger(__name__)

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1
_APOSTROPHES = re.compile(r"['\u2019`]")
_WORD = re.compile(r"[^\W_]+")  # runs of letters/digits; punctuation, underscores and spaces separate


def tokenize(text: str) -> list[str]:
    """Splits ``text`` into lower-case words (see the module docstring for the rules)."""
    return _WORD.findall(_APOSTROPHES.sub("", text.lower()))


class WordTokenizer:
    """Maps words to ids and back; built from data with ``WordTokenizer.build``.

    Args:
        words: the vocabulary in id order, without the special tokens (they take ids 0 and 1).

    Example:
        >>> tok = WordTokenizer.build(["make the red cube blue", "add a small sphere"])
        >>> ids, lengths = tok.batch_encode(["red sphere", "a purple cube"])
        >>> tok.unknown_words("a purple cube")
        ['purple']
    """

    def __init__(self, words: Sequence[str]) -> None:
        self.itos: list[str] = [PAD, UNK, *words]
        self.stoi: dict[str, int] = {w: i for i, w in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            dup = sorted(w for w, c in Counter(self.itos).items() if c > 1)
            raise ConfigError(f"tokenizer vocabulary has duplicate entries: {dup[:10]}")

    @classmethod
    def build(cls, texts: Iterable[str], min_freq: int = 1, max_size: int | None = None) -> WordTokenizer:
        """Builds the vocabulary from ``texts``.

        Args:
            texts: the training texts (captions, modification texts).
            min_freq: words seen fewer times are left out (they encode as ``<unk>``).
            max_size: keep at most this many words (the two special tokens not counted), most frequent first.

        Returns:
            The tokenizer.
        """
        if min_freq < 1:
            raise ConfigError(f"min_freq must be >= 1, got {min_freq}")
        if max_size is not None and max_size < 0:
            raise ConfigError(f"max_size must be >= 0 or None, got {max_size}")
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(tokenize(text))
        for special in (PAD, UNK):
            counts.pop(special, None)  # cannot occur after tokenize, kept for safety
        words = sorted((w for w, c in counts.items() if c >= min_freq), key=lambda w: (-counts[w], w))
        if max_size is not None:
            words = words[:max_size]
        logger.debug("built a vocabulary of %d words from %d distinct", len(words), len(counts))
        return cls(words)

    def __len__(self) -> int:
        return len(self.itos)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WordTokenizer) and other.itos == self.itos

    def __repr__(self) -> str:
        return f"WordTokenizer(size={len(self)})"

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``; unknown words map to ``UNK_ID``."""
        return [self.stoi.get(w, UNK_ID) for w in tokenize(text)]

    def decode(self, ids: Iterable[int]) -> str:
        """Words of ``ids`` joined by spaces, padding skipped."""
        return " ".join(self.itos[i] if 0 <= i < len(self.itos) else UNK for i in map(int, ids) if i != PAD_ID)

    def batch_encode(self, texts: Sequence[str], max_len: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Encodes and right-pads a batch of texts.

        Args:
            texts: B texts.
            max_len: truncate each text to this many tokens.

        Returns:
            ``(ids, lengths)``: int64 ``(B, L)`` padded with ``PAD_ID`` (``L >= 1``), int64 ``(B,)``.
        """
        if isinstance(texts, str):
            raise TypeError("batch_encode expects a sequence of texts, got one str; use encode() for a single text")
        seqs = [self.encode(t) for t in texts]
        if max_len is not None:
            seqs = [s[:max_len] for s in seqs]
        return pad_sequences(seqs, pad_value=PAD_ID)

    def unknown_words(self, text: str) -> list[str]:
        """The words of ``text`` (normalised, in order, without repeats) that are not in the vocabulary."""
        seen: dict[str, None] = {}
        for w in tokenize(text):
            if w not in self.stoi:
                seen.setdefault(w, None)
        return list(seen)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe description, saved inside checkpoints."""
        return {"type": "word", "version": 1, "words": self.itos[2:]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WordTokenizer:
        """Rebuilds a tokenizer from ``to_dict()`` output.

        Raises:
            ConfigError: the dict is not a word tokenizer description.
        """
        if not isinstance(d, dict) or d.get("type") != "word" or not isinstance(d.get("words"), list):
            got = sorted(d) if isinstance(d, dict) else type(d).__name__
            raise ConfigError(
                f"not a word tokenizer description: expected {{'type': 'word', 'words': [...]}}, got {got}"
            )
        if d.get("version", 1) != 1:
            raise ConfigError(f"word tokenizer version {d.get('version')!r} is not supported (expected 1)")
        words = d["words"]
        bad = [w for w in words if not isinstance(w, str) or w in (PAD, UNK)]
        if bad:
            raise ConfigError(f"word tokenizer description has invalid words: {bad[:5]}")
        return cls(words)
