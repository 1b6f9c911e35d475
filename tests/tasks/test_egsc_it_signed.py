"""EGSC-IT's signed AdaIN (``adain: signed``, models/egsc_it/layers.py) reaches the translator and trains."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from semspace.models.egsc_it import translator
from semspace.tasks import create_task
from semspace.types import EXEMPLAR, IMAGE

ARCH = {"size": 16, "channels": 4, "n_res": 1, "disc_channels": 4, "disc_layers": 2, "perceptual": "random_cnn"}


@pytest.mark.parametrize("form", ["signed", "textbook"])
def test_the_adain_option_reaches_the_decoder(form: str, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    original = translator.adain

    def spy(h: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor, f: Any = "code") -> torch.Tensor:
        seen.append(f)
        return original(h, scale, bias, f)

    monkeypatch.setattr(translator, "adain", spy)
    task = create_task("egsc_it", {**ARCH, "adain": form}).eval()
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    task.translate(x, x.flip(0))
    assert seen == [form]


def test_signed_and_textbook_translations_differ_with_the_same_weights() -> None:
    torch.manual_seed(0)
    signed = create_task("egsc_it", {**ARCH, "adain": "signed"}).eval()
    textbook = create_task("egsc_it", {**ARCH, "adain": "textbook"}).eval()
    textbook.load_state_dict(signed.state_dict())
    m = torch.zeros(4, 1, 16, 16)
    m[..., 4:12, 6:9] = 1  # a minority stroke
    x = (m * 2 - 1).expand(-1, 3, -1, -1)  # white on black
    ex = torch.where(
        m.bool(), torch.tensor([-1.0, 1, -1]).view(1, 3, 1, 1), torch.tensor([1.0, -1, -1]).view(1, 3, 1, 1)
    )
    with torch.no_grad():
        assert not torch.allclose(signed.translate(x, ex), textbook.translate(x, ex))


def test_a_signed_training_step_has_finite_gradients() -> None:
    torch.manual_seed(0)
    task = create_task("egsc_it", {**ARCH, "adain": "signed"}).train()
    for ae in task.mask_ae.values():
        ae.trained_steps += 1  # as if stage 1 had been loaded
    batch = {IMAGE: torch.rand(2, 3, 16, 16) * 2 - 1, EXEMPLAR: torch.rand(2, 3, 16, 16) * 2 - 1}
    out = task.training_forward(batch, "generator")
    out["loss"].backward()
    grads = [p.grad for p in task.decoders.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert any(float(g.abs().sum()) > 0 for g in grads)
