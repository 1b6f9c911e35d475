"""The image encoders' inference fast path (models/inference_fast.py): the knob, channels_last, micro-batches, the
compiled frozen embed equal to the eager one, and the cases that must stay eager."""

from __future__ import annotations

import copy

import pytest
import torch

from semspace.errors import ConfigError
from semspace.models import create_model
from semspace.models import inference_fast as fast
from semspace.models.inference_fast import (
    FAST_INFERENCE_ENV,
    fast_embed_of,
    fast_mode,
    image_batch,
    micro_batch,
    prepare_for_inference,
)

TOL = 1e-4  # max abs difference of unit-norm embeddings, compiled (constant-folded BN, fused kernels) vs eager
CL = torch.channels_last


def _tiny(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    enc = create_model("tiny_cnn").eval()
    for m in enc.modules():  # batch-norm statistics other than (0, 1), so folding them is tested
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return enc


def _images(n: int, enc: torch.nn.Module, seed: int = 1) -> torch.Tensor:
    side = enc.preprocess_cfg.size  # type: ignore[union-attr]
    return torch.rand(n, enc.preprocess_cfg.channels, side, side, generator=torch.Generator().manual_seed(seed))


def _eager(enc: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return torch.nn.functional.normalize(type(enc).embed(enc, x), dim=-1)  # the class's own embed: no fast path


def _encode(enc: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return enc.encode(x, normalize=True)  # type: ignore[operator]


def test_the_knob_reads_the_environment_and_names_itself_when_wrong(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FAST_INFERENCE_ENV, raising=False)
    assert fast_mode() == "auto"
    monkeypatch.setenv(FAST_INFERENCE_ENV, " Compile ")
    assert fast_mode() == "compile"
    assert fast_mode("off") == "off"  # an explicit value wins
    monkeypatch.setenv(FAST_INFERENCE_ENV, "fast")
    with pytest.raises(ConfigError, match=r"SEMSPACE_FAST_INFERENCE='fast': expected one of auto, compile"):
        fast_mode()


def test_image_batches_go_channels_last_unless_off_and_other_inputs_stay() -> None:
    x = torch.rand(2, 3, 8, 8)
    y = image_batch(x, "auto")
    assert y.is_contiguous(memory_format=CL) and not x.is_contiguous(memory_format=CL)
    torch.testing.assert_close(y, x, rtol=0, atol=0)
    assert image_batch(x, "off") is x
    feats, texts = torch.rand(2, 5), ["a", "b"]
    assert image_batch(feats, "auto") is feats and image_batch(texts, "auto") is texts
    assert image_batch(x.long(), "auto").is_contiguous()  # not float: as it is


def test_micro_batches_keep_about_four_224px_images_per_call() -> None:
    assert micro_batch(224, 224) == 4
    assert micro_batch(64, 64) == 64
    assert micro_batch(32, 32) == 256
    assert micro_batch(2000, 2000) == 1


def test_compiled_embeddings_equal_eager_per_encoder_for_any_batch_size() -> None:
    a, b = _tiny(0), _tiny(1)  # one class, two sets of weights: each compiled graph must hold its own
    x = _images(13, a)
    want_a, want_b = _eager(a, x), _eager(b, x)
    assert (want_a - want_b).abs().max() > 10 * TOL  # the two encoders do differ
    assert prepare_for_inference(a, "compile") == [""] and prepare_for_inference(b, "compile") == [""]
    got_a = _encode(a, x[:5])  # compiles for micro-batches of 8 (the next power of two): 5 rows padded
    got_b = _encode(b, x)
    fa, fb = fast_embed_of(a), fast_embed_of(b)
    assert fa is not None and fb is not None and fa.compiles == 1 and fb.compiles == 1
    assert (got_a - want_a[:5]).abs().max() <= TOL
    assert (got_b - want_b).abs().max() <= TOL
    got_a = _encode(a, x)  # 13 rows through the graph of 8: one full micro-batch and one padded
    assert (got_a - want_a).abs().max() <= TOL and fa.compiles == 1
    assert got_a.shape == (13, a.output_dim)  # type: ignore[attr-defined]


def test_changed_weights_drop_the_frozen_graph_and_copies_start_uncompiled() -> None:
    enc = _tiny(2)
    x = _images(8, enc)
    prepare_for_inference(enc, "compile")
    _encode(enc, x)
    fe = fast_embed_of(enc)
    assert fe is not None and fe.compiles == 1
    with torch.no_grad():
        enc.proj.weight.mul_(-1.0)  # type: ignore[operator]  # an optimizer step, a load_state_dict ...
    got = _encode(enc, x)  # not the stale graph: the eager path with the new weights
    assert (got - _eager(enc, x)).abs().max() <= TOL
    twin = copy.deepcopy(enc)
    ft = fast_embed_of(twin)
    assert ft is not None and ft.encoder is twin and ft.compiles == 0 and ft is not fe
    assert set(twin.state_dict()) == set(_tiny(0).state_dict())  # the fast path adds nothing to the weights


def test_training_grad_mode_and_channels_last_mode_never_compile() -> None:
    enc = _tiny(3)
    x = _images(8, enc)
    prepare_for_inference(enc, "compile")
    fe = fast_embed_of(enc)
    assert fe is not None
    with torch.no_grad():
        enc.encode(x)  # type: ignore[operator]  # not inference mode
    enc.train()
    with torch.inference_mode():
        enc.encode(x)  # type: ignore[operator]  # training mode: batch statistics
    assert fe.compiles == 0
    enc.eval()
    prepare_for_inference(enc, "channels_last")
    fe = fast_embed_of(enc)
    assert fe is not None
    assert (_encode(enc, x) - _eager(enc, x)).abs().max() <= TOL and fe.compiles == 0


def test_auto_compiles_only_after_enough_eager_time_in_real_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ski rental: auto compiles once real batches (not single queries) took COMPILE_AFTER_SECONDS eagerly."""
    ticks = iter(range(10**6))
    monkeypatch.setattr(fast, "_clock", lambda: float(next(ticks)))  # every eager call takes 1 s
    monkeypatch.setattr(fast, "COMPILE_AFTER_SECONDS", 2.0)
    enc = _tiny(4)
    prepare_for_inference(enc, "auto")
    fe = fast_embed_of(enc)
    assert fe is not None
    one = _images(1, enc)
    for _ in range(30):
        _encode(enc, one)  # single queries never count
    assert fe.eager_seconds == 0 and fe.compiles == 0
    x = _images(8, enc)
    _encode(enc, x)
    _encode(enc, x)
    assert fe.eager_seconds == 2.0 and fe.compiles == 0
    got = _encode(enc, x)  # 2 s spent eagerly: compiles
    assert fe.compiles == 1 and (got - _eager(enc, x)).abs().max() <= TOL


def test_off_prepares_nothing_and_encode_is_the_plain_embed() -> None:
    enc = _tiny(5)
    assert prepare_for_inference(enc, "off") == [] and fast_embed_of(enc) is None
    text = create_model("tiny_lstm_text", vocab=["red", "cube"])
    assert prepare_for_inference(text, "compile") == [] and fast_embed_of(text) is None  # image encoders only
