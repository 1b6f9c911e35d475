"""Registry-wide invariants over every shipped preset (STYLE G.22b; timm's ``test_model_forward``).

Pretrained presets are skipped with a reason when their optional packages are missing; MiniLM is loaded at
most once per process (the loader caches it).
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from semspace.data.preprocess import PreprocessCfg
from semspace.models import ENCODERS, BaseEncoder, create_model, get_model_cfg, list_models

B = 3
TEXTS = ["make the large red cube blue", "a small green sphere", "add a cylinder at the top left"]
SMALL_SIZE = {"efficientnet_lite0": 64}  # keep the pretrained CNN cheap: 64 px instead of 224


_BUILT: dict[str, BaseEncoder] = {}


def _presets() -> list[Any]:
    """Every preset; those needing the optional pretrained packages carry the ``pretrained`` marker."""
    marked = pytest.mark.pretrained
    return [
        pytest.param(n, marks=marked) if ENCODERS.get(get_model_cfg(n)["architecture"]).requires else n
        for n in list_models()
    ]


def _build(name: str) -> BaseEncoder:
    """The preset in eval mode, built once per test module (pretrained loads are the slow part)."""
    if name not in _BUILT:
        _BUILT[name] = _make(name)
    enc = _BUILT[name].eval()
    enc.zero_grad(set_to_none=True)
    return enc


def _make(name: str) -> BaseEncoder:
    spec = get_model_cfg(name)
    missing = ENCODERS.get(spec["architecture"]).missing_requirements()
    if missing:
        pytest.skip(f"{name} needs the optional packages {missing} (pip install 'semspace[pretrained]')")
    overrides: dict[str, Any] = {}
    if spec["architecture"] == "lstm_text":
        overrides["vocab"] = ["make", "the", "red", "cube", "a", "small", "sphere"]
    if name in SMALL_SIZE:
        overrides["preprocess"] = {"size": SMALL_SIZE[name]}
    torch.manual_seed(0)
    return create_model(name, **overrides).eval()


def _inputs(enc: BaseEncoder, n: int = B) -> Any:
    g = torch.Generator().manual_seed(1)
    if enc.input_kind == "image":
        p = enc.preprocess_cfg
        return torch.randn(n, p.channels, p.size, p.size, generator=g)
    if enc.input_kind == "features":
        return torch.randn(n, enc.cfg.in_dim, generator=g)
    return TEXTS[:n]


@pytest.mark.parametrize("name", _presets())
def test_encode_shape_finite_unit_norm(name: str) -> None:
    enc = _build(name)
    assert enc.input_kind in ("image", "text", "features")
    with torch.no_grad():
        z = enc.encode(_inputs(enc))
        zn = enc(_inputs(enc), normalize=True)
    assert z.shape == (B, enc.output_dim)
    assert torch.isfinite(z).all()
    torch.testing.assert_close(zn.norm(dim=1), torch.ones(B), atol=1e-5, rtol=0)
    torch.testing.assert_close(zn, torch.nn.functional.normalize(z, dim=1), atol=1e-5, rtol=1e-5)
    if enc.input_kind == "image":
        assert isinstance(enc.preprocess_cfg, PreprocessCfg)


@pytest.mark.parametrize("name", _presets())
def test_items_encode_independently_of_the_batch(name: str) -> None:
    """In eval mode an item's embedding does not depend on the other items of its batch."""
    enc = _build(name)
    x = _inputs(enc)
    with torch.no_grad():
        whole = enc.encode(x)
        alone = torch.cat([enc.encode(x[i : i + 1]) for i in range(B)])
    torch.testing.assert_close(whole, alone, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", _presets())
def test_to_config_rebuilds_the_same_model(name: str) -> None:
    enc = _build(name)
    twin = create_model(enc.to_config()).eval()
    assert twin.to_config() == enc.to_config()
    twin.load_state_dict(enc.state_dict())  # strict: same keys and shapes
    with torch.no_grad():
        torch.testing.assert_close(twin.encode(_inputs(enc)), enc.encode(_inputs(enc)))


@pytest.mark.parametrize("name", _presets())
def test_gradients_reach_the_projection(name: str) -> None:
    enc = _build(name).train()
    enc.encode(_inputs(enc, 4)).pow(2).sum().backward()
    trainable = [(n, p) for n, p in enc.named_parameters() if p.requires_grad]
    assert trainable, "an encoder must have something to train"
    last_name, last = trainable[-1]
    assert last.grad is not None and torch.isfinite(last.grad).all(), last_name
