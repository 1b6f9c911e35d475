"""EGSC-IT on the digits pair, by style combination: are styles carried to combinations never seen in training?

In training every domain-B digit above 4 is red on green (the authors' MNIST-Single rule), so at test a digit above 4
translated with an exemplar of another colour pair is a (digit, style) combination the model never saw. This splits
the semantic consistency and SSIM of the full model of ``benchmarks/egsc_it.py`` (its kept run in
``runs/bench/egsc_it/digits/``; run that benchmark first) over the 500 test digits into seen and unseen combinations
and per colour pair, scored by the same judge as the protocol (``eval/protocols/egsc_it.py``: trained on the train
split's digits in all six colour pairs, 1000 steps, seed 0) and the same SSIM (scikit-image).
Run: ``semspace bench egsc_it_combinations``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from semspace.config import load_run_cfg, to_dict
from semspace.data import create_dataset
from semspace.data.datasets.digit_pairs import CORRELATED_PAIR
from semspace.data.transforms import attach_transform
from semspace.errors import ConfigError
from semspace.eval.protocols.egsc_it import TranslationProtocol, accuracy
from semspace.eval.report import write_benchmark
from semspace.eval.translation import ssim_psnr
from semspace.tasks import load_task

RUN = Path("runs/bench/egsc_it/digits/egsc_it_signed_adain")  # the full model's row of benchmarks/egsc_it.py
CONFIG = "configs/egsc_it/digits_stage2.yaml"
QUICK_JUDGE = ["eval.classifier_data.args.n=200", "eval.classifier_steps=20"]
COLUMNS = ["group", "items", "semantic consistency", "judge on ground truth", "SSIM"]


def main(out_dir: str | Path = "benchmarks/results", quick: bool = False) -> Path:
    t0 = time.time()
    torch.set_num_threads(1)  # as the benchmark's workers, so the judge trains to the same weights
    run = Path(str(RUN).replace("egsc_it/", "egsc_it_quick/")) if quick else RUN
    if not (run / "model.pt").is_file():
        raise ConfigError(
            f"{run / 'model.pt'} is missing: run `semspace bench egsc_it{' --quick' if quick else ''}` first"
        )
    task, _ = load_task(run / "model.pt")
    task.eval()
    pre = task.domains()[task.cfg.domain_a].preprocess
    mean, std = torch.tensor(pre.mean).view(1, -1, 1, 1), torch.tensor(pre.std).view(1, -1, 1, 1)

    def unit(x: torch.Tensor) -> torch.Tensor:  # model input -> [0, 1]
        return (x * std + mean).clamp(0, 1)

    # the protocol's own judge, from the config's eval section
    ev = to_dict(load_run_cfg(CONFIG, QUICK_JUDGE if quick else []))["eval"]
    judge = TranslationProtocol(**{k: v for k, v in ev.items() if k != "protocol"}).judge(task, unit)
    test = attach_transform(create_dataset(ev["data"]["name"], **ev["data"]["args"]), pre)
    n = 60 if quick else len(test)
    items, recipes = [test[i] for i in range(n)], [test.describe(i) for i in range(n)]
    with torch.no_grad():
        pred = unit(
            task.translate(torch.stack([it["image"] for it in items]), torch.stack([it["exemplar"] for it in items]))
        )
    truth = unit(torch.stack([it["target"] for it in items]))
    labels = torch.stack([it["label"] for it in items])
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(recipes):
        unseen = r["digit"] > 4 and (r["fg"], r["bg"]) != CORRELATED_PAIR
        groups.setdefault("all test digits", []).append(i)
        groups.setdefault("unseen combinations (digit > 4, not red on green)" if unseen else "seen combinations",
                          []).append(i)  # fmt: skip
        groups.setdefault(f"exemplar {r['fg']} on {r['bg']}", []).append(i)
    rows: list[dict[str, Any]] = []
    order = sorted(groups, key=lambda g: (g.startswith("exemplar"), g.startswith("unseen"), g != "all test digits", g))
    for name in order:
        idx = groups[name]
        ids = torch.tensor(idx)
        rows.append({"group": name, "items": len(idx), "semantic consistency": accuracy(judge, pred[ids], labels[ids]),
                     "judge on ground truth": accuracy(judge, truth[ids], labels[ids]),
                     "SSIM": ssim_psnr(pred[ids], truth[ids])[0]})  # fmt: skip
    by = {r["group"]: r for r in rows}
    seen, unseen = by.get("seen combinations"), by.get("unseen combinations (digit > 4, not red on green)")
    notes = "Seen combinations: digits 0-4 in any colour pair, and digits above 4 red on green (as in training)."
    if seen and unseen:
        gap = unseen["semantic consistency"] - seen["semantic consistency"]
        notes += (f" Unseen minus seen semantic consistency: {gap:+.3f} (SSIM {unseen['SSIM'] - seen['SSIM']:+.3f}); "
                  "the judge's own accuracy on the ground truth of each group is its ceiling.")  # fmt: skip
    _, md = write_benchmark(
        "egsc_it_combinations" + ("_quick" if quick else ""), rows=rows, columns=COLUMNS, seed=0,
        config={"run": str(run), "config": CONFIG, "quick": quick}, seconds=time.time() - t0,
        title="EGSC-IT on the digits by style combination: the full model on combinations seen and unseen in training",
        notes=notes, out_dir=out_dir,
    )  # fmt: skip
    return md


if __name__ == "__main__":
    import sys

    print(main(quick="--quick" in sys.argv).read_text())
