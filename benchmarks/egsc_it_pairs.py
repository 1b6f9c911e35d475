"""EGSC-IT on the digits by the exemplar's colour pair and the content's polarity: why some pairs fail (issue 23).

Ma et al., ICLR 2019, arXiv:1805.11145. On real MNIST digits the translator's semantic consistency is bimodal by the
exemplar's colour pair (``docs/egsc_it.md``). This diagnosis translates every item of a ``digit_pairs`` split (the
**val** split by default; ``--split test`` only for the one confirmation) with its own exemplar **twice**: the
content drawn white-on-black and black-on-white (the same digit mask, so the same ground truth), and reports per
(colour pair, content polarity):

* ``consistency``: the protocol's judge (``eval/protocols/egsc_it.py``, trained on the train split's real domain-B
  digits, cached on disk) on the translations; ``judge on gt``: on the ground truths (the ceiling); ``SSIM``;
* ``swapped``: the fraction of translations nearer (mean |difference|) to the *colour-swapped* ground truth (the
  digit drawn in the exemplar's background colour on its foreground colour) than to the ground truth;
* ``fg error`` / ``bg error``: the mean |difference| (0..1, over RGB) between the exemplar's foreground
  (background) colour and the translation's mean colour over the ground truth's digit (background) pixels;
* ``mean distance``: the mean |difference| of the per-channel pixel means of the translation and the exemplar.

Rows per run: one per (pair, polarity), then one per pair (both polarities), then the run's overall row.
Run: ``python benchmarks/egsc_it_pairs.py --run LABEL=RUN_DIR [--run ...] [--split val|test] [--n N] [--name NAME]
[--source mnist|sklearn]`` (``--source sklearn``: the digits, content and exemplars, are scikit-learn's 8x8 digits
upscaled, drawings the model never saw, into ``egsc_it_pairs_<split>_sklearn``; the judge stays the MNIST-trained one)
(default: the digits model of ``benchmarks/egsc_it.py`` and its signed-AdaIN row, when they are kept in
``runs/bench/egsc_it/digits``); ``--quick`` scores 60 items with a 20-step judge (a smoke test).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from semspace.config import load_run_cfg, to_dict
from semspace.data import create_dataset
from semspace.data.datasets.digit_pairs import COLOUR_PAIRS, COLOURS, POLARITIES, paint
from semspace.errors import ConfigError
from semspace.eval.protocols.egsc_it import TranslationProtocol, correct
from semspace.eval.report import write_benchmark
from semspace.eval.translation import ssim_psnr_per_image
from semspace.tasks import load_task

CONFIG = "configs/egsc_it/digits_stage2.yaml"  # its eval section: the judge and the data
DEFAULT_RUNS = {
    "EGSC-IT (textbook AdaIN)": "runs/bench/egsc_it/digits/egsc_it_textbook_adain",
    "EGSC-IT (signed AdaIN)": "runs/bench/egsc_it/digits/egsc_it_signed_adain",
}
QUICK_JUDGE = ["eval.classifier_data.args.n=200", "eval.classifier_steps=20"]
COLUMNS = ["run", "pair", "polarity", "items", "consistency", "judge on gt", "SSIM", "swapped", "fg error",
           "bg error", "mean distance"]  # fmt: skip
SCORES = COLUMNS[4:]


def _tensor(images: list[np.ndarray]) -> torch.Tensor:
    """``(H, W, 3)`` uint8 images -> ``(N, 3, H, W)`` float in [0, 1]."""
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255.0


def score_run(task: Any, judge: Any, dataset: Any, batch: int = 250) -> dict[str, np.ndarray | list[str]]:
    """Per item and content polarity: the scores of the module docstring, as arrays over the ``2 N`` translations."""
    pre = task.domains()[task.cfg.domain_a].preprocess
    mean, std = torch.tensor(pre.mean).view(1, -1, 1, 1), torch.tensor(pre.std).view(1, -1, 1, 1)
    rec: dict[str, list[Any]] = {k: [] for k in ("pair", "polarity", "label", "src", "target", "swap", "ex", "fg",
                                                 "bg", "mask")}  # fmt: skip
    for i in range(len(dataset)):
        r = dataset.describe(i)
        for pol in POLARITIES:
            v = dataset.render(i, {**r, "polarity": pol})
            m = dataset.mask(r["row"])
            rec["pair"].append(f"{r['fg']}_on_{r['bg']}")
            rec["polarity"].append(pol)
            rec["label"].append(r["digit"])
            rec["swap"].append(paint(m, COLOURS[r["bg"]], COLOURS[r["fg"]]))
            rec["fg"].append(COLOURS[r["fg"]])
            rec["bg"].append(COLOURS[r["bg"]])
            rec["mask"].append(m)
            rec["src"].append(v["source"])
            rec["ex"].append(v["exemplar"])
            rec["target"].append(v["target"])
    src, ex, target, swap = (_tensor(rec[k]) for k in ("src", "ex", "target", "swap"))
    with torch.no_grad():
        outs = [task.translate((src[i : i + batch] - mean) / std, (ex[i : i + batch] - mean) / std)
                for i in range(0, len(src), batch)]  # fmt: skip
    pred = (torch.cat(outs) * std + mean).clamp(0, 1)  # (2N, 3, H, W) in [0, 1]
    labels = torch.tensor(rec["label"])
    mask = torch.from_numpy(np.stack(rec["mask"]))[:, None].float()  # (2N, 1, H, W)
    fg, bg = torch.tensor(rec["fg"]).float() / 255, torch.tensor(rec["bg"]).float() / 255  # (2N, 3)
    on_fg = (pred * mask).sum((2, 3)) / mask.sum((2, 3)).clamp_min(1)  # (2N, 3) mean colour on the digit
    on_bg = (pred * (1 - mask)).sum((2, 3)) / (1 - mask).sum((2, 3)).clamp_min(1)
    ssim, _ = ssim_psnr_per_image(pred, target)
    return {
        "pair": rec["pair"],
        "polarity": rec["polarity"],
        "consistency": correct(judge, pred, labels).numpy().astype(float),
        "judge on gt": correct(judge, target, labels).numpy().astype(float),
        "SSIM": np.asarray(ssim, dtype=float),
        "swapped": ((pred - swap).abs().mean((1, 2, 3)) < (pred - target).abs().mean((1, 2, 3))).numpy().astype(float),
        "fg error": (on_fg - fg).abs().mean(1).numpy(),
        "bg error": (on_bg - bg).abs().mean(1).numpy(),
        "mean distance": (pred.mean((2, 3)) - ex.mean((2, 3))).abs().mean(1).numpy(),
    }


def group_rows(label: str, scores: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows per (pair, polarity), per pair, and overall."""
    pairs, pols = np.array(scores["pair"]), np.array(scores["polarity"])
    groups: list[tuple[str, str, np.ndarray]] = []
    names = [f"{f}_on_{b}" for f, b in COLOUR_PAIRS]
    for p in names:
        for pol in POLARITIES:
            groups.append((p, pol, (pairs == p) & (pols == pol)))
    groups += [(p, "both", pairs == p) for p in names]
    groups.append(("all", "both", np.ones(len(pairs), bool)))
    rows = []
    for p, pol, sel in groups:
        if sel.any():
            rows.append({"run": label, "pair": p.replace("_", " "), "polarity": pol.replace("_", " "),
                         "items": int(sel.sum()), **{k: float(np.mean(scores[k][sel])) for k in SCORES}})  # fmt: skip
    return rows


def main(runs: dict[str, str] | None = None, split: str = "val", n: int | None = None, quick: bool = False,
         name: str | None = None, out_dir: str | Path = "benchmarks/results",
         source: str = "mnist") -> Path:  # fmt: skip
    t0 = time.time()
    torch.set_num_threads(1)  # as the benchmark's workers, so the judge is the cached one
    runs = runs or DEFAULT_RUNS
    missing = [d for d in runs.values() if not (Path(d) / "model.pt").is_file()]
    if missing:
        raise ConfigError(f"egsc_it_pairs: no model.pt in {missing}; train them first (docs/egsc_it.md)")
    ev = to_dict(load_run_cfg(CONFIG, QUICK_JUDGE if quick else []))["eval"]
    data_args = {**ev["data"]["args"], "split": split, "n": 30 if quick else n, "source": source}
    dataset = create_dataset(ev["data"]["name"], **data_args)
    rows: list[dict[str, Any]] = []
    for label, run in runs.items():
        task, _ = load_task(Path(run) / "model.pt")
        task.eval()
        pre = task.domains()[task.cfg.domain_a].preprocess
        mean, std = torch.tensor(pre.mean).view(1, -1, 1, 1), torch.tensor(pre.std).view(1, -1, 1, 1)
        judge = TranslationProtocol(**{k: v for k, v in ev.items() if k != "protocol"}).judge(
            task, lambda x, m=mean, s=std: (x * s + m).clamp(0, 1)
        )
        rows += group_rows(label, score_run(task, judge, dataset))
        print(f"egsc_it_pairs: scored {label} ({run})", flush=True)
    tag = name or f"egsc_it_pairs_{split}" + (f"_{source}" if source != "mnist" else "") + ("_quick" if quick else "")
    notes = (
        f"Data: digit_pairs split `{split}` of source `{source}`, {len(dataset)} items, each translated with its "
        "own exemplar twice "
        "(content white on black and black on white; same ground truth). swapped: fraction of translations nearer "
        "to the colour-swapped ground truth than to the ground truth; fg / bg error: mean |difference| between the "
        "exemplar's foreground (background) colour and the translation's mean colour on the ground truth's digit "
        "(background) pixels; mean distance: |per-channel pixel mean of translation - of exemplar|. "
        "Runs: " + ", ".join(f"{k}: `{v}`" for k, v in runs.items()) + "."
    )
    _, md = write_benchmark(
        tag, rows=rows, columns=COLUMNS, seed=0, config={"runs": runs, "data": data_args, "quick": quick},
        seconds=time.time() - t0, notes=notes, out_dir=out_dir,
        title=f"EGSC-IT on the digits ({split} split{', content: ' + source if source != 'mnist' else ''}) by "
        "exemplar colour pair and content polarity",
    )  # fmt: skip
    return md


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", action="append", default=[], help="LABEL=RUN_DIR (repeatable)")
    parser.add_argument("--split", default="val", choices=["train", "val", "test"])
    parser.add_argument("--n", type=int, default=None, help="items (default: the split's digits)")
    parser.add_argument("--name", default=None, help="results name (default: egsc_it_pairs_<split>)")
    parser.add_argument("--out", default="benchmarks/results")
    parser.add_argument("--quick", action="store_true", help="smoke test: 30 items, a 20-step judge")
    parser.add_argument("--source", default="mnist", choices=["mnist", "sklearn"], help="the content digits")
    args = parser.parse_args()
    given = dict(r.split("=", 1) for r in args.run) if args.run else None
    print(main(given, args.split, args.n, args.quick, args.name, args.out, args.source).read_text())
