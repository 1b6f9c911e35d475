"""The claims passes of the transfer and SSGN benchmarks (issue 23 item 3): which rows train at which seed, where
seed 0 comes from, and the claims read against two standard errors (training replaced by fixed numbers)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from semspace.cli.bench import _load

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def transfer() -> Any:
    return _load("transfer", ROOT / "benchmarks" / "transfer.py")


@pytest.fixture()
def ssgn() -> Any:
    return _load("ssgn", ROOT / "benchmarks" / "ssgn.py")


def _transfer_metrics(seed: int, tirg: float, concat: float) -> dict[str, dict[str, float]]:
    """R@1 as given (+ 0.01 a seed); R@5: TIRG 0.3 above its R@1, concat 0.1 above its (3D -> 3D)."""
    r1 = {"TIRG": {"3d_to_3d": tirg + 0.01 * seed, "2d_to_3d": tirg - 0.2 + 0.01 * seed},
          "concat": {"3d_to_3d": concat + 0.01 * seed, "2d_to_3d": concat + 0.3}}  # fmt: skip
    up = {"TIRG": 0.3, "concat": 0.1}
    return {m: {**{f"{p}_R@1": v for p, v in r.items()}, **{f"{p}_R@5": v + up[m] for p, v in r.items()}}
            for m, r in r1.items()}  # fmt: skip


def _with_r5(row: dict[str, Any]) -> dict[str, Any]:
    """A committed-table row with R@5 columns beside its R@1 ones (R@1 + 0.3)."""
    return row | {k.replace("R@1", "R@5"): v + 0.3 for k, v in row.items() if k.endswith("R@1")}


def test_transfer_claims_pass(transfer: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_root = tmp_path / "transfer"
    trained: list[tuple[str, int, Path, tuple[str, ...]]] = []

    def fake_run(name: str, cfg: Any, root: Path, methods: dict[str, str] = transfer.METHODS) -> dict:
        trained.append((name, cfg.train.seed, root, tuple(methods)))
        return _transfer_metrics(cfg.train.seed, 0.60, 0.50)

    monkeypatch.setattr(transfer, "run_experiment", fake_run)
    # the committed table's seed-0 rows (nothing kept on disk for seed 0)
    rows = [_with_r5(r) for r in (
        {"method": "TIRG", "(b) 2D-trained, 3D->3D R@1": 0.60, "(d) 2D-trained, 2D->3D R@1": 0.40,
         "(a) 3D->3D in-domain R@1": 0.67, "(c) text-trained, 3D->3D R@1": 0.59},
        {"method": "concat", "(b) 2D-trained, 3D->3D R@1": 0.50, "(d) 2D-trained, 2D->3D R@1": 0.80,
         "(a) 3D->3D in-domain R@1": 0.68, "(c) text-trained, 3D->3D R@1": 0.45})]  # fmt: skip
    # in-domain's seeds 1 and 2 are on disk from an earlier pass: kept, though not named
    for s in (1, 2):
        for label, composer in transfer.CLAIM_METHODS.items():
            done = tmp_path / f"transfer_seed{s}" / "in_domain_3d" / composer / "result.json"
            done.parent.mkdir(parents=True)
            r1 = (0.66 if label == "TIRG" else 0.69) + 0.01 * s
            done.write_text(json.dumps({"3d_to_3d_R@1": r1, "3d_to_3d_R@5": r1 + 0.3}))
    claims, lead = transfer.claims_pass(run_root, rows, True, 3, ["transfer_2d_to_3d"])
    assert [(n, s, r.name) for n, s, r, _ in trained] == [("transfer_2d_to_3d", 1, "transfer_seed1"),
                                                          ("transfer_2d_to_3d", 2, "transfer_seed2")]  # fmt: skip
    assert all(m == ("TIRG", "concat") for *_, m in trained)
    by = {c["claim"]: c for c in claims}
    b = by["TIRG > concat, (b) 2D-trained, 3D->3D R@1"]
    assert b["A per seed"] == "0.600 / 0.610 / 0.620" and b["B per seed"] == "0.500 / 0.510 / 0.520"
    assert b["verdict"] == "met"
    assert by["TIRG > concat, (d) 2D-trained, 2D->3D R@1"]["verdict"] == "MISSED"
    b5 = by["TIRG > concat, (b) 2D-trained, 3D->3D R@5"]  # seed 0 from the rows: 0.90 vs 0.80; then 0.91 vs 0.61, ...
    assert b5["A per seed"] == "0.900 / 0.910 / 0.920" and b5["B per seed"] == "0.800 / 0.610 / 0.620"
    assert b5["verdict"] == "met"
    a = by["TIRG > concat, (a) 3D->3D in-domain R@1"]
    assert a["A per seed"] == "0.670 / 0.670 / 0.680" and a["verdict"] == "MISSED"
    assert by["TIRG (a) 3D->3D in-domain R@1 >= 0.70"]["verdict"] == "MISSED"
    assert "TIRG (b) 2D-trained, 3D->3D R@1 >= 0.8 x (a) 3D->3D in-domain" in by
    assert not any("(c)" in c for c in by)  # text -> 3D has no seeds yet
    assert "committed table's rows for transfer_2d_to_3d, in_domain_3d (no seed-0" in lead
    assert "Not yet run over the seeds: transfer_text_to_3d." in lead


def test_transfer_claims_take_seed_zero_from_its_kept_run(transfer: Any, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setattr(transfer, "run_experiment", lambda name, cfg, root, methods=None: _transfer_metrics(
        cfg.train.seed, 0.60, 0.50))  # fmt: skip
    for label, composer in transfer.CLAIM_METHODS.items():
        done = tmp_path / "transfer" / "transfer_2d_to_3d" / composer / "result.json"
        done.parent.mkdir(parents=True)
        done.write_text(json.dumps(_transfer_metrics(0, 0.30, 0.50)[label]))
    rows = [_with_r5({"method": m, "(b) 2D-trained, 3D->3D R@1": 0.9, "(d) 2D-trained, 2D->3D R@1": 0.9})
            for m in ("TIRG", "concat")]  # fmt: skip
    claims, lead = transfer.claims_pass(tmp_path / "transfer", rows, True, 2, ["transfer_2d_to_3d"])
    b = next(c for c in claims if c["claim"].startswith("TIRG > concat, (b)"))
    assert b["A per seed"] == "0.300 / 0.610"  # seed 0 from runs/.../transfer/, not the rows
    assert "transfer_2d_to_3d" not in lead.split("Seed 0:")[1].split("the table's own runs")[0]


def test_transfer_claims_only_needs_the_table(transfer: Any, tmp_path: Path) -> None:
    from semspace.errors import ConfigError

    with pytest.raises(ConfigError, match="not found; run the table first"):
        transfer.main(out_dir=tmp_path, seeds=3, claims_only=True)
    with pytest.raises(ConfigError, match="unknown experiment"):
        transfer.main(out_dir=tmp_path, seeds=3, claims_only=True, experiments=["nope"])


def test_ssgn_claims_pass(ssgn: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, str, tuple[str, ...]]] = []
    level = {ssgn.DIRECT: 0.50, ssgn.SINGLE: 0.58, ssgn.FULL: 0.56}
    columns = {col for *_, col, _ in ssgn.CLAIMS}

    def fake_run(cfg: Any, feats: Any, root: Path, methods: dict[str, Any]) -> list[dict[str, Any]]:
        s = cfg.train.seed
        calls.append((s, root.name, tuple(methods)))
        return [{"method": m, **{c: level[m] + 0.01 * s for c in columns}} for m in methods]

    monkeypatch.setattr(ssgn, "run_methods", fake_run)
    claims = ssgn.claims_pass(True, {}, 3, tmp_path / "ssgn")
    assert [(s, r) for s, r, _ in calls] == [(0, "ssgn"), (1, "ssgn_seed1"), (2, "ssgn_seed2")]
    assert all(set(m) == set(ssgn.CLAIM_METHODS) for *_, m in calls)
    by = {c["claim"]: c for c in claims}
    assert len(by) == len(ssgn.CLAIMS)
    assert by["SSGN > direct embedding, unseen-only mAP@all"]["verdict"] == "met"
    ratio = by["SSGN > 1.2 x direct embedding, unseen-only mAP@all"]
    assert ratio["B per seed"] == "0.600 / 0.612 / 0.624" and ratio["verdict"] == "MISSED"
    assert by["SSGN > single-stage decoder, unseen-only mAP@all"]["verdict"] == "MISSED"


def test_chtn_seed_notes_read_every_claim_against_two_standard_errors() -> None:
    chtn = _load("chtn", ROOT / "benchmarks" / "chtn.py")
    means = {"CCA": [0.60] * 3, "semantic matching": [0.69] * 3, "DSCMR objective": [0.43, 0.45, 0.44],
             "CHTN without source (no transfer)": [0.58, 0.60, 0.59],
             "CHTN without layer sharing": [0.64, 0.66, 0.65], "CHTN": [0.65, 0.66, 0.67],
             "CHTN warm-started on the source": [0.75, 0.76, 0.77]}  # fmt: skip
    tables = [[{"method": m, "mean MAP": v[s]} for m, v in means.items()] for s in range(3)]
    md = chtn.seed_notes(tables, 60.0, has_source=True, what="both tables")
    verdicts = {line.split(" | ")[0].removeprefix("| "): line.split(" | ")[7] for line in md.splitlines()
                if line.startswith("| ") and not line.startswith("| claim")}  # fmt: skip
    assert verdicts == {
        "CHTN > semantic matching": "MISSED",
        "CHTN >= semantic matching + 0.10": "MISSED",
        "CHTN > DSCMR objective": "met",
        "layer sharing helps (CHTN > CHTN without layer sharing)": "not resolved",
        "CHTN >= no transfer + 0.05": "met",
        "warm start >= no transfer + 0.05": "met",
        "warm start >= semantic matching + 0.10": "MISSED",
    }
    assert "0.650 / 0.660 / 0.670" in md and "2 SE" in md


def test_ssgn_claims_only_rewrites_the_table_with_its_claims(ssgn: Any, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    committed = json.loads((ROOT / "benchmarks" / "results" / "ssgn.json").read_text())
    (tmp_path / "ssgn.json").write_text(json.dumps(committed))
    monkeypatch.setattr(ssgn, "features", lambda cfg, cache: {})
    by_method = {r["method"]: r for r in committed["rows"]}
    monkeypatch.setattr(ssgn, "run_methods", lambda cfg, feats, root, methods: [
        {**by_method[m], "mAP@all": by_method[m]["mAP@all"] + 0.001 * cfg.train.seed} for m in methods])  # fmt: skip
    md = ssgn.main(out_dir=tmp_path, seeds=3, claims_only=True).read_text()
    doc = json.loads((tmp_path / "ssgn.json").read_text())
    assert doc["rows"] == committed["rows"] and doc["claim_seeds"] == 3 and len(doc["claims"]) == len(ssgn.CLAIMS)
    assert "## Claims over 3 seeds" in md and "| SSGN > direct embedding, unseen-only mAP@all |" in md
    full = f"{by_method[ssgn.FULL]['mAP@all']:.3f}"
    assert next(c for c in doc["claims"] if c["claim"].endswith("unseen-only mAP@all"))["A per seed"].startswith(full)


def test_transfer_claims_only_rewrites_the_table_with_its_claims(transfer: Any, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    committed = json.loads((ROOT / "benchmarks" / "results" / "transfer.json").read_text())
    (tmp_path / "transfer.json").write_text(json.dumps(committed))
    (tmp_path / "configs").symlink_to(ROOT / "configs")
    monkeypatch.chdir(tmp_path)  # runs/bench/... relative to the working directory: empty here
    monkeypatch.setattr(transfer, "run_experiment", lambda name, cfg, root, methods=None: _transfer_metrics(
        cfg.train.seed, 0.60, 0.55))  # fmt: skip
    md = transfer.main(out_dir=tmp_path, seeds=3, claims_only=True, experiments=["transfer_2d_to_3d"]).read_text()
    doc = json.loads((tmp_path / "transfer.json").read_text())
    assert doc["rows"] == committed["rows"] and doc["claim_seeds"] == 3
    b = next(c for c in doc["claims"] if c["claim"] == "TIRG > concat, (b) 2D-trained, 3D->3D R@1")
    tirg0 = next(r for r in committed["rows"] if r["method"] == "TIRG")["(b) 2D-trained, 3D->3D R@1"]
    assert b["A per seed"] == f"{tirg0:.3f} / 0.610 / 0.620"
    assert "## Claims over 3 seeds" in md and "Not yet run over the seeds: in_domain_3d, transfer_text_to_3d" in md


def test_egsc_it_claims_over_seeds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--seeds N`` runs seeds 0..N-1 (training replaced) and appends the claims read from the seeds' JSONs."""
    egsc = _load("egsc_it", ROOT / "benchmarks" / "egsc_it.py")
    methods = [*egsc.ROWS]

    def fake_seed(out_dir: Path, quick: bool, rescore: bool, seed: int) -> Path:
        rows = []
        for data in egsc.DATA:
            for i, m in enumerate(methods):
                full = m == egsc.FULL
                # digits: the full model 0.95 + noise; every other row lower, MUNIT-style only by noise
                cons = 0.95 + 0.01 * seed if full else (0.95 + 0.02 * (seed - 1) if m == "MUNIT-style" else 0.7)
                rows.append({"data": data, "method": m, "semantic_consistency": cons, "ssim": 0.5 + 0.01 * i})
        tag = egsc.run_tag(quick, seed)
        (out_dir / f"{tag}.json").write_text(json.dumps({"rows": rows}))
        (out_dir / f"{tag}.md").write_text(f"# table of seed {seed}\n")
        return out_dir / f"{tag}.md"

    monkeypatch.setattr(egsc, "run_seed", fake_seed)
    md = egsc.main(out_dir=tmp_path, seeds=3)
    text = md.read_text()
    assert md.name == "egsc_it.md" and text.startswith("# table of seed 0") and "## Claims over 3 seeds" in text
    claims = {c["claim"]: c for c in json.loads((tmp_path / "egsc_it.json").read_text())["claims"]}
    assert claims["digits: full > no exemplar (UNIT-like), consistency"]["verdict"] == "met"
    assert claims["digits: full > MUNIT-style, consistency"]["verdict"] == "not resolved"  # 0.96 vs 0.95, sd 0.01-0.02
    assert claims["digits: full consistency >= 0.9"]["verdict"] == "met"
    # SSIM grows with the row's position: MUNIT-style (last) is above the full model (first)
    assert claims["world_pairs: full > MUNIT-style, SSIM"]["verdict"] == "MISSED"
    assert len(claims) == 2 * (len(egsc.ABLATIONS) + 2 * len(egsc.BASELINES)) + 1
    # a second claims pass replaces the section, not stacks it
    egsc.add_claims(tmp_path, 3)
    assert md.read_text().count("## Claims over") == 1
