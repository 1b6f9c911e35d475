"""Text encoders: they take ``list[str]`` and own their tokenisation, so the tokenizer travels with the model.

* ``lstm_text``: TIRG's text model (Vo et al., "Composing Text and Image for Image Retrieval - An Empirical
  Odyssey", CVPR 2019, arXiv:1812.07119; google/tirg ``text_model.py``): word ids -> ``Embedding(V, E)`` ->
  ``LSTM(E, H)`` -> pooling -> ``Dropout(0.1)`` -> ``Linear(H, D)``. Pooling ``"last"`` (TIRG's choice) takes the
  LSTM state after each text's own last word; ``"mean"`` averages the outputs over the real (non-padding) words.
  Sequences are packed, so padding never changes a text's embedding. The vocabulary is data (``cfg.vocab``),
  saved with the model, and wrapped by ``semspace.data.tokenizer.WordTokenizer`` (ids 0/1 = pad/unk).
* ``minilm_text``: the offline all-MiniLM-L6-v2 sentence encoder (arXiv:2002.10957; 384-d, L2-normalised) +
  a trainable projection. Frozen by default: one copy per process and device is shared by every encoder and kept
  out of ``state_dict``; with ``unlocked_groups`` != 0 the encoder owns a private copy that fine-tunes.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from semspace.data.tokenizer import WordTokenizer
from semspace.errors import ConfigError, DataError
from semspace.models.encoders.base import BaseEncoder
from semspace.models.encoders.pretrained import MINILM_DIM, MINILM_MODULES, load_minilm
from semspace.models.registry import register_encoder

logger = logging.getLogger(__name__)

POOLINGS = ("last", "mean")


def build_vocab(texts: Iterable[str], min_freq: int = 1, max_size: int | None = None) -> list[str]:
    """The ``vocab`` list for ``lstm_text`` built from training texts (``WordTokenizer.build``)."""
    return list(WordTokenizer.build(texts, min_freq=min_freq, max_size=max_size).to_dict()["words"])


def _check_texts(texts: Any, who: str) -> list[str]:
    if isinstance(texts, str) or not isinstance(texts, Sequence) or not all(isinstance(t, str) for t in texts):
        raise DataError(f"{who}: expected a list of texts (list[str]), got {type(texts).__name__}")
    return list(texts)


@dataclass
class LstmTextCfg:
    vocab: list[str] = field(default_factory=list)  # words in id order, without <pad>/<unk> (see build_vocab)
    word_dim: int = 512  # word embedding size E
    hidden_dim: int = 512  # LSTM state size H
    num_layers: int = 1  # stacked LSTM layers
    pooling: str = "last"  # "last": state after the last word (TIRG) | "mean": mean output over the words
    dropout: float = 0.1  # dropout before the projection (TIRG: 0.1)
    embed_dim: int = 512  # output size D
    max_len: int | None = None  # truncate texts to this many words (None: no limit)


@register_encoder("lstm_text")
class LstmTextEncoder(BaseEncoder):
    """TIRG's LSTM text encoder with its own word vocabulary.

    Example:
        >>> enc = LstmTextEncoder(vocab=build_vocab(["make the red cube blue"]), word_dim=8, hidden_dim=8,
        ...                       embed_dim=4)
        >>> enc.encode(["the blue cube", "red"]).shape
        torch.Size([2, 4])
    """

    cfg_class = LstmTextCfg
    input_kind = "text"

    def __init__(self, cfg: LstmTextCfg | dict[str, Any] | None = None, **overrides: Any) -> None:
        super().__init__(cfg, **overrides)
        c = self.cfg
        if c.pooling not in POOLINGS:
            raise ConfigError(f"lstm_text: pooling must be one of {list(POOLINGS)}, got {c.pooling!r}")
        if min(c.word_dim, c.hidden_dim, c.num_layers, c.embed_dim) <= 0:
            raise ConfigError(f"lstm_text: word_dim, hidden_dim, num_layers and embed_dim must be positive, got {c}")
        self.tokenizer = WordTokenizer(c.vocab)
        if not c.vocab:
            logger.warning("lstm_text built with an empty vocabulary: every word encodes as <unk>; pass vocab=...")
        self.embedding = nn.Embedding(len(self.tokenizer), c.word_dim, padding_idx=0)
        self.lstm = nn.LSTM(c.word_dim, c.hidden_dim, num_layers=c.num_layers, batch_first=True)
        self.drop = nn.Dropout(c.dropout)
        self.fc = nn.Linear(c.hidden_dim, c.embed_dim)
        self.output_dim = c.embed_dim

    def unknown_words(self, text: str) -> list[str]:
        """Words of ``text`` outside the vocabulary (they encode as ``<unk>``)."""
        return self.tokenizer.unknown_words(text)

    def embed(self, texts: Sequence[str]) -> torch.Tensor:
        texts = _check_texts(texts, "lstm_text")
        if not texts:
            return self.fc.weight.new_zeros(0, self.output_dim)
        ids, lengths = self.tokenizer.batch_encode(texts, max_len=self.cfg.max_len)  # (B, L), (B,)
        ids = ids.to(self.embedding.weight.device)
        lengths = lengths.clamp(min=1)  # an empty text reads one <pad> token
        x = self.embedding(ids)  # (B, L, E)
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, (h_n, _) = self.lstm(packed)  # h_n: (num_layers, B, H), in the input order
        if self.cfg.pooling == "last":
            feats = h_n[-1]  # (B, H)
        else:
            seq, _ = pad_packed_sequence(out, batch_first=True, total_length=ids.shape[1])  # (B, L, H), zero-padded
            feats = seq.sum(dim=1) / lengths.to(seq)[:, None]  # (B, H)
        return self.fc(self.drop(feats))  # (B, D)

    def lock_groups(self) -> list[nn.Module]:
        return [self.embedding, self.lstm]


@dataclass
class MiniLmTextCfg:
    embed_dim: int | None = 512  # output size D of the trainable projection (None or 0: no projection, D = 384)
    unlocked_groups: int | None = 0  # 0: frozen shared tower; N: private copy, last N of 7 groups train; None: all
    batch_size: int = 64  # texts per forward of the frozen tower


@register_encoder("minilm_text")
class MiniLmTextEncoder(BaseEncoder):
    """all-MiniLM-L6-v2 (offline) + a trainable projection to the shared space.

    Lock groups (7, input to output): the embeddings, then the 6 transformer layers.
    """

    cfg_class = MiniLmTextCfg
    input_kind = "text"
    requires = MINILM_MODULES
    _anchor: torch.Tensor
    tower: Any  # the private SentenceTransformer copy, or None (frozen shared tower)

    def __init__(self, cfg: MiniLmTextCfg | dict[str, Any] | None = None, **overrides: Any) -> None:
        super().__init__(cfg, **overrides)
        c = self.cfg
        if c.batch_size <= 0:
            raise ConfigError(f"minilm_text: batch_size must be positive, got {c.batch_size}")
        self.register_buffer("_anchor", torch.zeros(0), persistent=False)  # follows .to(device/dtype)
        shared = load_minilm("cpu")
        self.tower = None
        if c.unlocked_groups != 0:
            self.tower = copy.deepcopy(shared).requires_grad_(True)
            for name, p in self.tower.named_parameters():
                if ".pooler." in name:  # BERT's pooler is unused by mean pooling; freezing it keeps DDP happy
                    p.requires_grad_(False)
        self.proj = nn.Linear(MINILM_DIM, c.embed_dim) if c.embed_dim else nn.Identity()
        self.output_dim = int(c.embed_dim) if c.embed_dim else MINILM_DIM
        if self.tower is not None and c.unlocked_groups is not None:
            self.lock(c.unlocked_groups)

    def _base(self) -> Any:
        return self.tower if self.tower is not None else load_minilm(self._anchor.device)

    def unknown_words(self, text: str) -> list[str]:
        """Whitespace words of ``text`` that the WordPiece vocabulary cannot spell (they become [UNK])."""
        tok = self._base().tokenizer
        return [w for w in dict.fromkeys(text.split()) if tok.unk_token in tok.tokenize(w)]

    def embed(self, texts: Sequence[str]) -> torch.Tensor:
        texts = _check_texts(texts, "minilm_text")
        dev, dtype = self._anchor.device, self._anchor.dtype
        if not texts:
            return torch.zeros(0, self.output_dim, device=dev, dtype=dtype)
        if self.tower is None:
            with torch.no_grad():
                e = load_minilm(dev).encode(
                    texts, batch_size=self.cfg.batch_size, convert_to_tensor=True, show_progress_bar=False
                )  # (B, 384), unit norm (the model ends with a Normalize module)
            e = e.clone()  # encode() returns inference-mode tensors; a clone can enter autograd
        else:
            feats = self.tower.preprocess(texts)
            feats = {k: v.to(dev) if isinstance(v, torch.Tensor) else v for k, v in feats.items()}
            e = self.tower(feats)["sentence_embedding"]  # (B, 384)
        return self.proj(e.to(device=dev, dtype=dtype))  # (B, D)

    def lock_groups(self) -> list[nn.Module]:
        if self.tower is None:
            return []
        bert: Any = next(m for m in self.tower.modules() if hasattr(m, "embeddings") and hasattr(m, "encoder"))
        return [bert.embeddings, *bert.encoder.layer]

    def lock(self, unlocked_groups: int = 0, freeze_norm_stats: bool = True) -> BaseEncoder:
        if self.tower is None and unlocked_groups > 0:
            raise ConfigError(
                "minilm_text was built with a frozen shared tower (unlocked_groups=0); "
                f"build it with unlocked_groups={unlocked_groups} to fine-tune its last layers"
            )
        return super().lock(unlocked_groups, freeze_norm_stats)
