"""WordTokenizer: normalisation, vocabulary order, padding, unknown words, JSON round trip."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import torch

from semspace.data.tokenizer import PAD_ID, UNK_ID, WordTokenizer, tokenize
from semspace.errors import ConfigError

TEXTS = [
    "Make the large red cube blue.",
    "add a small green sphere at the top-left",
    "make the red sphere a cube!",
    "Don't remove the RED cube",
]


def test_tokenize_rules() -> None:
    assert tokenize("Make the RED cube, blue!") == ["make", "the", "red", "cube", "blue"]
    assert tokenize("top-left;bottom_right") == ["top", "left", "bottom", "right"]
    assert tokenize("don't  it’s") == ["dont", "its"]
    assert tokenize("Café 3D") == ["café", "3d"]
    assert tokenize("  ...  ") == []


def test_build_orders_by_frequency_then_alphabet() -> None:
    tok = WordTokenizer.build(TEXTS)
    counts = Counter(w for t in TEXTS for w in tokenize(t))
    words = tok.itos[2:]
    assert sorted(words) == sorted(counts)
    keys = [(-counts[w], w) for w in words]
    assert keys == sorted(keys)
    assert tok.itos[:2] == ["<pad>", "<unk>"] and len(tok) == len(counts) + 2


def test_min_freq_and_max_size() -> None:
    counts = Counter(w for t in TEXTS for w in tokenize(t))
    tok = WordTokenizer.build(TEXTS, min_freq=2)
    assert set(tok.itos[2:]) == {w for w, c in counts.items() if c >= 2}
    small = WordTokenizer.build(TEXTS, max_size=3)
    assert len(small) == 5 and small.itos[2:] == tok.itos[2:5]
    with pytest.raises(ConfigError):
        WordTokenizer.build(TEXTS, min_freq=0)


def test_encode_decode_and_unknown_words() -> None:
    tok = WordTokenizer.build(TEXTS)
    ids = tok.encode("Make the purple cube fly, purple!")
    assert ids.count(UNK_ID) == 3 and PAD_ID not in ids
    assert tok.decode(ids) == "make the <unk> cube <unk> <unk>"
    assert tok.unknown_words("Make the purple cube fly, PURPLE!") == ["purple", "fly"]
    assert tok.unknown_words("the red cube") == []


def test_batch_encode_pads_with_zero() -> None:
    tok = WordTokenizer.build(TEXTS)
    texts = ["red cube", "", "make the large red cube blue"]
    ids, lengths = tok.batch_encode(texts)
    assert ids.dtype == torch.int64 and lengths.dtype == torch.int64
    assert ids.shape == (3, 6) and lengths.tolist() == [2, 0, 6]
    for row, text, n in zip(ids, texts, lengths, strict=True):
        assert row[:n].tolist() == tok.encode(text)
        assert (row[n:] == PAD_ID).all()
    ids, lengths = tok.batch_encode(texts, max_len=3)
    assert ids.shape == (3, 3) and lengths.tolist() == [2, 0, 3]
    empty, n0 = tok.batch_encode([""])
    assert empty.shape == (1, 1) and n0.tolist() == [0]
    with pytest.raises(TypeError):
        tok.batch_encode("red cube")  # type: ignore[arg-type]


def test_to_dict_round_trip_is_json_safe() -> None:
    tok = WordTokenizer.build(TEXTS)
    d = json.loads(json.dumps(tok.to_dict()))
    back = WordTokenizer.from_dict(d)
    assert back == tok and len(back) == len(tok)
    probe = "make the purple sphere red"
    assert back.encode(probe) == tok.encode(probe) and back.unknown_words(probe) == ["purple"]


@pytest.mark.parametrize(
    "bad",
    [{"type": "bpe", "words": []}, {"words": ["a"]}, {"type": "word", "words": ["a", "a"]},
     {"type": "word", "words": ["<pad>"]}, {"type": "word", "version": 2, "words": []}],
)  # fmt: skip
def test_from_dict_rejects_bad_descriptions(bad: dict) -> None:
    with pytest.raises(ConfigError, match="tokenizer"):
        WordTokenizer.from_dict(bad)
