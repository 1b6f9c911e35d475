"""DSCMR's ``input_norm`` option: BatchNorm on each modality's input features (off by default, no new weights)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from semspace.data import create_dataset
from semspace.tasks import create_task

FEATURES = {"image_trunk": "identity_features", "text_encoder": "identity_features", "image_key": "features.img",
            "text_key": "features.txt", "hidden_dim": 8, "common_dim": 4}  # fmt: skip


def test_input_norm_makes_the_image_side_scale_free(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "f.npz", train_img=rng.random((8, 3), np.float32), train_txt=rng.random((8, 5), np.float32),
             train_labels=np.arange(8) % 2)  # fmt: skip
    ds = create_dataset("features", path=tmp_path / "f.npz", split="train")
    x = torch.from_numpy(ds.features("img"))  # (8, 3)
    plain = create_task("dscmr", dict(FEATURES), ds)
    normed = create_task("dscmr", {**FEATURES, "input_norm": True}, ds)
    assert not any("norm" in k for k in plain.state_dict())  # the default adds no weights: old checkpoints load
    assert {"img_norm.running_mean", "txt_norm.running_mean"} <= set(normed.state_dict())
    for task in (plain, normed):
        task.train()
    same = torch.allclose(normed.features("photo", x), normed.features("photo", 1000 * x), atol=1e-4)
    assert same  # batch statistics: a feature's scale does not reach the layers above
    assert not torch.allclose(plain.features("photo", x), plain.features("photo", 1000 * x), atol=1e-4)
