"""The semantic-consistency judge of ``egsc_it_translation`` is trained once per data set and loaded next time: a
second protocol (a new process's, the in-process memo emptied) does not train; another key trains; a corrupt file
is trained again with a warning and replaced; ``judge_cache: false`` writes nothing; the default folder follows
SEMSPACE_CACHE, then XDG_CACHE_HOME."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import torch

from semspace.data.domains import DomainSpec, InputKind
from semspace.data.preprocess import PreprocessCfg
from semspace.errors import ConfigError
from semspace.eval.protocols import create_protocol
from semspace.eval.protocols import egsc_it as proto_mod
from semspace.eval.protocols import egsc_it_judge as judge_mod

DATA = {"name": "digit_pairs", "args": {"split": "test", "n": 12, "size": 16}}
JUDGE_DATA = {"name": "digit_pairs", "args": {"split": "val", "n": 40, "size": 16, "direction": "b2a",
                                              "correlated": False}}  # fmt: skip


class _Copy(torch.nn.Module):
    """A stub translator: returns the exemplar."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        pre = PreprocessCfg(size=16)
        self.specs = {d: DomainSpec(name=d, kind=InputKind.IMAGE, embed_dim=4, preprocess=pre) for d in ("a", "b")}

    def domains(self) -> dict[str, DomainSpec]:
        return self.specs

    def translate(self, content: torch.Tensor, exemplar: torch.Tensor, direction: str = "a2b") -> torch.Tensor:
        return exemplar.clone()


@pytest.fixture
def trained(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the judge's trainings (and empties the per-process memo, as a new process would have it)."""
    calls: list[int] = []
    real = proto_mod.train_classifier

    def counting(*args: Any, **kwargs: Any) -> torch.nn.Module:
        calls.append(kwargs["steps"])
        return real(*args, **kwargs)

    monkeypatch.setattr(proto_mod, "train_classifier", counting)
    monkeypatch.setattr(proto_mod, "_JUDGES", {})
    return calls


def _score(folder: Any, steps: int = 3) -> dict[str, float]:
    proto_mod._JUDGES.clear()  # a fresh process
    p = create_protocol("egsc_it_translation", data=DATA, classifier_data=JUDGE_DATA, n_exemplars=0,
                        classifier_steps=steps, judge_cache=folder)  # fmt: skip
    return dict(p(_Copy()))


def test_the_second_call_loads_the_judge_and_scores_the_same(tmp_path: Path, trained: list[int]) -> None:
    first = _score(tmp_path)
    assert trained == [3] and len(list(tmp_path.glob("*.pt"))) == 1
    second = _score(tmp_path)
    assert trained == [3]  # loaded, not trained
    assert second["semantic_consistency"] == first["semantic_consistency"]
    assert second["classifier_acc_real"] == first["classifier_acc_real"]
    _score(tmp_path, steps=4)  # another training setting: another key, trained and kept beside the first
    assert trained == [3, 4] and len(list(tmp_path.glob("*.pt"))) == 2


def test_the_loaded_judge_has_the_trained_weights(tmp_path: Path, trained: list[int]) -> None:
    _score(tmp_path)
    trained_net = next(iter(proto_mod._JUDGES.values()))
    proto_mod._JUDGES.clear()
    _score(tmp_path)
    loaded_net = next(iter(proto_mod._JUDGES.values()))
    assert loaded_net is not trained_net and not loaded_net.training
    a, b = trained_net.state_dict(), loaded_net.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_corrupt_file_is_trained_again_with_a_warning(tmp_path: Path, trained: list[int],
                                                        caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    first = _score(tmp_path)
    (path,) = tmp_path.glob("*.pt")
    path.write_bytes(path.read_bytes()[:100])  # truncated
    with caplog.at_level(logging.WARNING):
        again = _score(tmp_path)
    assert trained == [3, 3]
    assert any(str(path) in r.getMessage() and "unreadable" in r.getMessage() for r in caplog.records)
    assert again["semantic_consistency"] == first["semantic_consistency"]  # the same seed trains the same judge
    _score(tmp_path)
    assert trained == [3, 3]  # the replaced file loads
    assert not list(tmp_path.glob("*.tmp*"))  # written atomically: no temp files left


def test_no_cache_writes_nothing_and_a_bad_setting_is_refused(tmp_path: Path, trained: list[int],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("SEMSPACE_CACHE", str(tmp_path / "default"))
    _score(False)
    _score(False)
    assert trained == [3, 3] and not (tmp_path / "default").exists()
    _score(None)  # the default folder
    assert len(list((tmp_path / "default" / "egsc_it_judge").glob("*.pt"))) == 1
    with pytest.raises(ConfigError, match="judge_cache"):
        _score(7)


def test_default_folder_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEMSPACE_CACHE", str(tmp_path / "s"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert judge_mod.default_cache_dir() == tmp_path / "s" / "egsc_it_judge"
    monkeypatch.setenv("SEMSPACE_CACHE", "")
    assert judge_mod.default_cache_dir() == tmp_path / "x" / "semspace" / "egsc_it_judge"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert judge_mod.default_cache_dir() == Path.home() / ".cache" / "semspace" / "egsc_it_judge"


def test_the_key_follows_data_and_code(tmp_path: Path) -> None:
    base = {"data": {"name": "d"}, "preprocess": {"size": 16}, "fingerprint": "f", "settings": {"steps": 3},
            "code": judge_mod.code_digest((proto_mod.small_classifier, proto_mod.train_classifier))}  # fmt: skip
    path = judge_mod.cache_path(tmp_path, judge_mod.judge_key(**base))
    for field, other in (("fingerprint", "g"), ("settings", {"steps": 4}), ("code", "other source")):
        assert judge_mod.cache_path(tmp_path, judge_mod.judge_key(**{**base, field: other})) != path
    assert judge_mod.cache_path(tmp_path, judge_mod.judge_key(**base)) == path
    assert judge_mod.code_digest((proto_mod.small_classifier,)) != judge_mod.code_digest((proto_mod.accuracy,))
