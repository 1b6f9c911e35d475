"""Devices (issue 20 item 5): ``--device`` spelled auto/cpu/cuda/cuda:N, resolved with one clear error for an absent
CUDA device; models load onto the chosen device; the CPU's native bf16 read from its flags and the bf16 warning."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from semspace.cli.main import main
from semspace.errors import ConfigError
from semspace.knobs import parse_device
from semspace.retrieval.runs import load_run
from semspace.tasks import load_task
from semspace.utils.device import bf16_warning, cpu_native_bf16, resolve_device

FIXTURE_RUN = Path(__file__).resolve().parents[1] / "fixtures" / "v0_1_0" / "run"
X86_NO_BF16 = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma avx512f avx512bw\n"
X86_AMX = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 amx_tile amx_bf16\n"
ARM_BF16 = "processor\t: 0\nFeatures\t: fp asimd sve bf16 i8mm\n"
ARM_PLAIN = "processor\t: 0\nFeatures\t: fp asimd evtstrm\n"


@pytest.fixture
def no_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.mark.parametrize(("given", "want"), [("auto", "auto"), (" CPU ", "cpu"), ("cuda", "cuda"),
                                             ("cuda:0", "cuda:0"), ("cuda:01", "cuda:1")])  # fmt: skip
def test_device_spellings_are_normalised(given: str, want: str) -> None:
    assert parse_device(given) == want


@pytest.mark.parametrize("bad", ["graphics", "cuda:", "cuda:x", "cuda:-1", "cpu:0", "mps", ""])
def test_other_spellings_are_refused_naming_the_choices(bad: str) -> None:
    with pytest.raises(ValueError, match="expected auto, cpu, cuda or cuda:N"):
        parse_device(bad)


def test_auto_is_the_cpu_without_cuda_and_cuda_is_one_clear_error(no_cuda: None) -> None:
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(RuntimeError, match=r"cuda requested but torch\.cuda\.is_available\(\) is False.*--device cpu"):
        resolve_device("cuda")


def test_auto_is_cuda_where_there_is_one_and_a_missing_index_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device("cuda:0") == torch.device("cuda", 0)
    with pytest.raises(RuntimeError, match=r"cuda:1 requested but only 1 CUDA device"):
        resolve_device("cuda:1")


def test_a_run_loads_onto_the_chosen_device_and_an_absent_one_is_a_config_error(no_cuda: None) -> None:
    task, _ = load_task(FIXTURE_RUN / "model.pt", "auto")
    assert {p.device.type for p in task.parameters()} == {"cpu"} and not task.training
    with pytest.raises(ConfigError, match=r"--device: cuda requested but torch\.cuda\.is_available\(\) is False"):
        load_run(FIXTURE_RUN, "cuda")


def test_cli_device_option_usage_error_and_absent_cuda(
    no_cuda: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["eval", "--run-dir", str(tmp_path), "--device", "gpu"]) == 2
    assert "expected auto, cpu, cuda or cuda:N" in capsys.readouterr().err
    for argv in (["eval", "--run-dir", str(tmp_path)],
                 ["index", "build", "--run-dir", str(FIXTURE_RUN), "--data", "world_scenes:n=2", "--out",
                  str(tmp_path / "idx")]):  # fmt: skip
        assert main([*argv, "--device", "cuda"]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "cuda requested but torch.cuda.is_available() is False" in err[0], err
    assert not (tmp_path / "idx").exists()  # nothing written


@pytest.mark.parametrize(("text", "cap", "want"), [
    (X86_AMX, "", True), (X86_NO_BF16, "", False), (ARM_BF16, "", True), (ARM_PLAIN, "", False),
    ("", "", None), ("processor\t: 0\n", "", None), (X86_AMX, "AVX2", False), (X86_AMX, "avx512_core_amx", True),
])  # fmt: skip
def test_native_bf16_from_the_cpu_flags(text: str, cap: str, want: bool | None) -> None:
    assert cpu_native_bf16(text, isa_cap=cap) is want


def test_bf16_warning_only_on_a_cpu_without_it() -> None:
    cpu = torch.device("cpu")
    warning = bf16_warning(cpu, X86_NO_BF16, isa_cap="")
    assert warning is not None and "without native bf16" in warning and "GFLOP/s" in warning
    assert bf16_warning(cpu, X86_AMX, isa_cap="") is None
    assert bf16_warning(torch.device("cuda"), X86_NO_BF16, isa_cap="") is None
    assert bf16_warning(cpu, "", isa_cap="") is None  # cannot tell: nothing said
