"""The inputs ``chtn`` and ``dscmr`` share (tasks/cross_modal_inputs.py): both resolve the same classes, feature
widths and batch fields from the same training pairs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from semspace.data import create_dataset
from semspace.data.collate import collate_dicts
from semspace.errors import DataError
from semspace.registry import UnknownNameError
from semspace.tasks import create_task
from semspace.tasks.cross_modal_inputs import encoder_spec, pair_input

FEATURES = {"image_trunk": "identity_features", "text_encoder": "identity_features", "image_key": "features.img",
            "text_key": "features.txt"}  # fmt: skip


def test_encoder_spec_of_a_preset_a_bare_architecture_and_a_dict() -> None:
    assert encoder_spec("tiny_cnn")["architecture"] == "small_cnn"
    assert encoder_spec("bow_text") == {"architecture": "bow_text", "cfg": {}}
    spec = {"architecture": "small_cnn", "cfg": {}}
    assert encoder_spec(spec) is spec
    with pytest.raises(UnknownNameError, match="tiny_cnn"):
        encoder_spec("tiny_cnnn")


def test_chtn_and_dscmr_resolve_the_same_inputs_from_the_pairs(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "f.npz", train_img=rng.random((6, 3), np.float32), train_txt=rng.random((6, 5), np.float32),
             train_labels=np.arange(6) % 3)  # fmt: skip
    ds = create_dataset("features", path=tmp_path / "f.npz", split="train")
    chtn = create_task("chtn", {**FEATURES, "image_kind": "features", "widths": [4, 4], "shared_widths": [4, 4]}, ds)
    dscmr = create_task("dscmr", {**FEATURES, "hidden_dim": 8, "common_dim": 4}, ds)
    for task in (chtn, dscmr):
        assert task.cfg.num_classes == 3
        assert (task.cfg.image_trunk_args["in_dim"], task.cfg.text_encoder_args["in_dim"]) == (3, 5)
    batch = collate_dicts([ds[i] for i in range(6)])
    assert torch.isfinite(dscmr.training_forward(batch)["loss"])
    assert dscmr.eval_forward(batch)["photo"].shape == (6, 4)
    with pytest.raises(DataError, match=r"no 'features.audio' \(at 'audio' it holds \['img', 'txt'\]\)"):
        pair_input(batch, "features.audio")
