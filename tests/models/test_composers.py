"""Composers: registry-wide shape/gradient invariants, TIRG and Concat against hand-written formulas, config
round trips and the errors of bad shapes and bad arguments."""

from __future__ import annotations

import json
import os

import pytest
import torch
from torch import nn

from semspace.errors import ConfigError
from semspace.models import (
    BaseComposer,
    ConcatComposer,
    ImageOnlyComposer,
    TextOnlyComposer,
    TirgComposer,
    create_composer,
    list_composers,
)

_ENV_DEVICE = os.environ.get("SEMSPACE_TEST_DEVICE", "cpu")
DEVICES = [pytest.param("cpu", id="cpu")]
if _ENV_DEVICE.startswith("cuda"):
    DEVICES.append(pytest.param(_ENV_DEVICE, id="cuda", marks=pytest.mark.gpu))
_ENV_DTYPES = [d for d in os.environ.get("SEMSPACE_TEST_DTYPES", "").split(",") if d]
DTYPES = [getattr(torch, d) for d in dict.fromkeys(["float32", "float64", *_ENV_DTYPES])]
B, D = 6, 8


def _inputs(seed: int = 0, b: int = B, d: int = D, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, d, generator=g, dtype=dtype), torch.randn(b, d, generator=g, dtype=dtype)


def _randomise_norms(module: nn.Module, seed: int = 0) -> None:
    """Non-trivial BN affine parameters and running stats, so a shared or missing BN would show."""
    g = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm1d):
            with torch.no_grad():
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)


# ---- hand-written references ----------------------------------------------------------------------
def _bn(x: torch.Tensor, bn: nn.BatchNorm1d, train: bool) -> torch.Tensor:
    if train:
        mean, var = x.mean(0), x.var(0, unbiased=False)  # (F,), (F,) batch statistics
    else:
        mean, var = bn.running_mean, bn.running_var  # (F,), (F,)
    return (x - mean) / torch.sqrt(var + bn.eps) * bn.weight + bn.bias  # (B, F)


def _lin(x: torch.Tensor, layer: nn.Linear) -> torch.Tensor:
    return x @ layer.weight.T + layer.bias  # (B, out)


def _tirg_by_hand(c: TirgComposer, img: torch.Tensor, txt: torch.Tensor, train: bool) -> torch.Tensor:
    x = torch.cat([img, txt], dim=1)  # (B, 2D)
    gate = _lin(_bn(x, c.gate[0], train).clamp_min(0), c.gate[2])  # (B, D)
    hidden = _lin(_bn(x, c.residual[0], train).clamp_min(0), c.residual[2]).clamp_min(0)  # (B, 2D)
    residual = _lin(hidden, c.residual[4])  # (B, D)
    return c.w[0] * torch.sigmoid(gate) * img + c.w[1] * residual  # (B, D)


# ---- registry-wide invariants ----------------------------------------------------------------------
def test_all_four_baselines_are_registered() -> None:
    assert set(list_composers()) >= {"tirg", "concat", "image_only", "text_only"}
    assert list_composers("t*") == ["text_only", "tirg"]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", list_composers())
@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
def test_compose_shape_dtype_and_finite(name: str, train: bool, dtype: torch.dtype, device: str) -> None:
    composer = create_composer(name, dim=D).to(device=device, dtype=dtype).train(train)
    assert isinstance(composer, BaseComposer) and composer.name == name and composer.dim == D
    img, txt = (t.to(device) for t in _inputs(dtype=dtype))
    out = composer.compose(img, txt)
    assert out.shape == (B, D) and out.dtype == dtype and out.device.type == torch.device(device).type
    assert torch.isfinite(out).all()
    if not train:
        torch.testing.assert_close(composer(img, txt), out)  # forward == compose (deterministic in eval)


@pytest.mark.parametrize("name", ["tirg", "concat"])
def test_gradients_reach_both_inputs_and_all_parameters(name: str) -> None:
    composer = create_composer(name, dim=D).train()
    img, txt = (t.requires_grad_() for t in _inputs())
    composer(img, txt).pow(2).sum().backward()
    for x in (img, txt):
        assert x.grad is not None and x.grad.abs().sum() > 0
    for pname, p in composer.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname


@pytest.mark.parametrize(("cls", "kept"), [(ImageOnlyComposer, 0), (TextOnlyComposer, 1)])
def test_single_modality_baselines_pass_one_input_through(cls: type[BaseComposer], kept: int) -> None:
    composer = cls(dim=D)
    assert list(composer.parameters()) == []
    inputs = _inputs()
    assert torch.equal(composer(*inputs), inputs[kept])


# ---- TIRG and Concat against the formulas ----------------------------------------------------------
@pytest.mark.parametrize("train", [True, False], ids=["batch_stats", "running_stats"])
def test_tirg_equals_the_gated_residual_formula(train: bool) -> None:
    torch.manual_seed(0)
    composer = TirgComposer(dim=D).double()
    assert composer.w.tolist() == [1.0, 10.0] and composer.w.requires_grad
    _randomise_norms(composer)
    composer.train(train)
    img, txt = _inputs(seed=3, dtype=torch.float64)
    expected = _tirg_by_hand(composer, img, txt, train)
    torch.testing.assert_close(composer(img, txt), expected)


def test_tirg_weights_scale_the_two_branches() -> None:
    torch.manual_seed(0)
    base = TirgComposer(dim=D).double().eval()
    _randomise_norms(base)
    img, txt = _inputs(seed=1, dtype=torch.float64)
    only_gate = TirgComposer(dim=D, init_weights=(1.0, 0.0)).double().eval()
    only_gate.load_state_dict({**base.state_dict(), "w": torch.tensor([1.0, 0.0], dtype=torch.float64)})
    only_res = TirgComposer(dim=D, init_weights=(0.0, 1.0)).double().eval()
    only_res.load_state_dict({**base.state_dict(), "w": torch.tensor([0.0, 1.0], dtype=torch.float64)})
    torch.testing.assert_close(base(img, txt), only_gate(img, txt) + 10.0 * only_res(img, txt))
    gate_out = only_gate(img, txt)
    assert ((gate_out / img).abs() < 1).all()  # a sigmoid gate in (0, 1) shrinks each image coordinate


def test_concat_equals_its_layer_stack_by_hand() -> None:
    torch.manual_seed(0)
    composer = ConcatComposer(dim=D, dropout=0.5).double()
    _randomise_norms(composer)
    composer.eval()  # dropout is the identity, BN uses its running statistics
    kinds = [type(m) for m in composer.net]
    assert kinds == [nn.BatchNorm1d, nn.ReLU, nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Dropout, nn.Linear]
    img, txt = _inputs(seed=2, dtype=torch.float64)
    x = torch.cat([img, txt], dim=1)  # (B, 2D)
    h = _lin(_bn(x, composer.net[0], False).clamp_min(0), composer.net[2])  # (B, 2D)
    expected = _lin(_bn(h, composer.net[3], False).clamp_min(0), composer.net[6])  # (B, D)
    torch.testing.assert_close(composer(img, txt), expected)


# ---- config round trip and the factory -------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "kwargs"),
    [("tirg", {}), ("tirg", {"init_weights": (0.5, 2.0)}), ("concat", {"dropout": 0.3}), ("image_only", {}),
     ("text_only", {})],
)  # fmt: skip
def test_to_config_round_trip(name: str, kwargs: dict) -> None:
    composer = create_composer(name, dim=D, **kwargs).eval()
    cfg = json.loads(json.dumps(composer.to_config()))  # survives JSON (checkpoints, YAML)
    assert cfg["name"] == name and cfg["dim"] == D
    rebuilt = create_composer(**cfg).eval()
    assert type(rebuilt) is type(composer) and rebuilt.to_config() == cfg
    rebuilt.load_state_dict(composer.state_dict())
    img, txt = _inputs()
    torch.testing.assert_close(rebuilt(img, txt), composer(img, txt))
    if name == "tirg":
        assert rebuilt.w.tolist() == list(kwargs.get("init_weights", (1.0, 10.0)))


def test_create_composer_returns_modules_as_is_and_checks_arguments() -> None:
    composer = TirgComposer(dim=D)
    assert create_composer(composer) is composer
    assert create_composer(composer, dim=D) is composer
    with pytest.raises(ConfigError, match="dim=8, expected dim=4"):
        create_composer(composer, dim=4)
    with pytest.raises(KeyError, match="available: .*tirg"):
        create_composer("film", dim=D)
    with pytest.raises(ConfigError, match="needs dim"):
        create_composer("tirg")
    with pytest.raises(ConfigError, match="unknown argument"):
        create_composer("concat", dim=D, init_weights=(1.0, 1.0))
    with pytest.raises(ConfigError, match="name is required"):
        create_composer(dim=D)
    with pytest.raises(ConfigError, match="once"):
        create_composer("tirg", name="concat", dim=D)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"dim": 0}, "positive int"), ({"dim": "8"}, "positive int"), ({"dim": 8, "init_weights": (1.0,)}, "w_gate"),
     ({"dim": 8, "init_weights": (1.0, 2.0, 3.0)}, "w_gate")],
)  # fmt: skip
def test_bad_tirg_arguments_raise_config_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        TirgComposer(**kwargs)


def test_bad_concat_dropout_raises() -> None:
    with pytest.raises(ConfigError, match="dropout"):
        ConcatComposer(dim=D, dropout=1.5)


@pytest.mark.parametrize("name", list_composers())
@pytest.mark.parametrize(
    ("img_shape", "txt_shape", "match"),
    [((B, D + 1), (B, D), r"img must be \(B, 8\), got \(6, 9\)"), ((B, D), (D,), r"txt must be \(B, 8\), got \(8,\)"),
     ((B, D), (B + 1, D), "same batch size"), ((2, B, D), (B, D), r"img must be \(B, 8\)")],
)  # fmt: skip
def test_bad_shapes_name_the_expected_shape(name: str, img_shape: tuple, txt_shape: tuple, match: str) -> None:
    composer = create_composer(name, dim=D)
    with pytest.raises(ValueError, match=match):
        composer(torch.zeros(img_shape), torch.zeros(txt_shape))
