"""Translation metrics (eval/translation.py) and the egsc_it_translation protocol on tiny inputs."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from semspace.data.domains import DomainSpec, InputKind
from semspace.data.preprocess import PreprocessCfg
from semspace.eval.protocols import create_protocol
from semspace.eval.translation import diversity, ssim_psnr, style_distance


def _img(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_psnr_and_ssim_against_direct_computations() -> None:
    a, b = _img(2, 3, 8, 8), _img(2, 3, 8, 8, seed=1)
    ssim, psnr = ssim_psnr(a, b)
    mse = [float(((x - y) ** 2).mean()) for x, y in zip(a, b, strict=True)]
    assert psnr == pytest.approx(np.mean([10 * math.log10(1 / m) for m in mse]))
    direct = [structural_similarity(y.permute(1, 2, 0).numpy(), x.permute(1, 2, 0).numpy(), data_range=1.0,
                                    channel_axis=-1, win_size=7) for x, y in zip(a, b, strict=True)]  # fmt: skip
    assert ssim == pytest.approx(float(np.mean(direct)))
    same_ssim, same_psnr = ssim_psnr(a, a)
    assert same_ssim == pytest.approx(1.0) and same_psnr == 100.0


def test_style_distance_and_diversity_against_loops() -> None:
    a, b = _img(3, 3, 4, 4), _img(3, 3, 4, 4, seed=1)
    stats = lambda x: torch.stack([torch.cat([x[i].mean((1, 2)), x[i].std((1, 2), unbiased=False)]) for i in range(3)])  # noqa: E731
    assert style_distance(a, b) == pytest.approx(float((stats(a) - stats(b)).abs().mean()))
    t = _img(2, 3, 3, 4, 4, seed=2)  # (N, E, C, H, W)
    pairs = [float((t[n, i] - t[n, j]).abs().mean()) for n in range(2) for i in range(3) for j in range(i + 1, 3)]
    assert diversity(t) == pytest.approx(float(np.mean(pairs)))


class _CopyTranslator(torch.nn.Module):
    """A stub ``translate`` task: returns the exemplar (perfect style, no content)."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        pre = PreprocessCfg(size=16)
        self.specs = {d: DomainSpec(name=d, kind=InputKind.IMAGE, embed_dim=4, preprocess=pre) for d in ("a", "b")}

    def domains(self) -> dict[str, DomainSpec]:
        return self.specs

    def translate(self, content: torch.Tensor, exemplar: torch.Tensor, direction: str = "a2b") -> torch.Tensor:
        return exemplar.clone()

    def eval_forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:  # pragma: no cover
        return {}


def test_protocol_scores_a_stub_against_direct_values() -> None:
    data = {"name": "world_pairs", "args": {"split": "test", "n": 6, "size": 16}}
    cls = {"name": "world_pairs", "args": {"split": "val", "n": 20, "size": 16, "direction": "b2a"}}
    proto = create_protocol("egsc_it_translation", data=data, classifier_data=cls, n_exemplars=3, n_diversity=4,
                            classifier_steps=2, batch_size=4)  # fmt: skip
    m = proto(_CopyTranslator())
    assert m["style_distance"] == pytest.approx(0.0, abs=1e-6)  # the exemplar itself: the same statistics
    from semspace.data import create_dataset

    ds = create_dataset("world_pairs", **data["args"])
    ex = torch.stack([ds[i]["exemplar"] for i in range(6)])
    tg = torch.stack([ds[i]["target"] for i in range(6)])
    ssim, psnr = ssim_psnr(ex, tg)
    assert m["ssim"] == pytest.approx(ssim, abs=1e-3) and m["psnr"] == pytest.approx(psnr, abs=0.05)
    assert m["diversity"] > 0 and 0.0 <= m["semantic_consistency"] <= 1.0


def test_random_shift_moves_each_image_by_its_own_offset_within_the_bound() -> None:
    from semspace.eval.protocols.egsc_it import random_shift

    images = torch.zeros(16, 1, 9, 9)
    images[:, 0, 4, 4] = 1.0  # one lit pixel in the centre
    out = random_shift(images, 2, torch.Generator().manual_seed(0))
    assert out.shape == images.shape
    rows, cols = torch.nonzero(out[:, 0] == 1.0, as_tuple=True)[1:]
    assert len(rows) == 16  # the pixel survives every shift
    assert ((rows - 4).abs().max() <= 2) and ((cols - 4).abs().max() <= 2)
    assert len({(int(r), int(c)) for r, c in zip(rows, cols, strict=True)}) > 1  # images get their own offsets
    edge = torch.arange(9.0).repeat(9, 1)[None, None].expand(4, 1, 9, 9)  # a horizontal ramp
    shifted = random_shift(edge, 3, torch.Generator().manual_seed(1))
    assert shifted.min() == 0 and shifted.max() == 8  # the uncovered edge repeats the border, no zeros pulled in
    assert torch.equal(random_shift(edge, 0, torch.Generator()), edge)


def test_train_classifier_learns_a_separable_task_and_returns_in_eval_mode() -> None:
    from semspace.eval.protocols.egsc_it import accuracy, train_classifier

    g = torch.Generator().manual_seed(0)
    labels = torch.arange(64) % 2
    images = torch.rand(64, 3, 8, 8, generator=g) * 0.2
    images[labels == 1, 0] += 0.8  # class 1: a red image
    net = train_classifier(images, labels, steps=60, batch_size=16)
    assert accuracy(net, images, labels) == 1.0
    assert not net.training
