"""Weighted multi-term queries (``retrieval/terms.py``, ``Searcher.search_terms``) on a tiny four-kind index.

A toy task embeds ``photo`` (image), ``drawing`` (sketch), ``caption`` (text) and ``vec`` (features) in one 16-d
space, untrained, and composes photo queries with a fixed hand-checkable rule, N(z + 0.5 g(t)); the index holds
6 photos, 6 drawings and 5 vectors. The checks: one term is the single query, the combination equals the hand
computation of N(sum_i w_i N(z_i)), a negative term pushes its own direction down, positive terms leave their own
items out, the command-line syntax and the one-line errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from semspace.data.transforms import build_transform
from semspace.errors import ConfigError, DataError
from semspace.index import exact_knn
from semspace.models import create_model
from semspace.models.checkpoint import save_checkpoint
from semspace.models.encoders import build_vocab
from semspace.models.joint import JointEmbeddingModel
from semspace.retrieval import Searcher, build_index
from semspace.retrieval.terms import QueryTerm, combine_terms, parse_term, term_from_dict
from semspace.tasks import TASKS, Task, TaskCfg

D = 16
WORDS = ["a", "red", "blue", "chair", "cube", "small", "large"]


@dataclass
class TermsCfg(TaskCfg):
    seed: int = 0


class TermsTask(Task):
    """photo (image), drawing (sketch), caption (text), vec (features); composes photo queries: N(z + 0.5 g(t))."""

    Cfg = TermsCfg
    name = "test_query_terms"

    def __init__(self, cfg: TermsCfg) -> None:
        super().__init__(cfg)
        torch.manual_seed(cfg.seed)
        self.model = JointEmbeddingModel(
            encoders={
                "photo": create_model("tiny_cnn", embed_dim=D, preprocess={"size": 32}),
                "drawing": create_model(
                    "tiny_cnn", embed_dim=D, preprocess={"size": 24, "channels": 1, "mean": [0.5], "std": [0.5]}
                ),
                "caption": create_model("tiny_lstm_text", vocab=build_vocab(WORDS), embed_dim=D),
                "vec": create_model("tiny_mlp_features", in_dim=8, embed_dim=D),
            },
            kinds={"drawing": "sketch"},
        )

    def composable_domains(self) -> list[str]:
        return ["photo"]

    def compose(self, query: torch.Tensor, texts: list[str]) -> torch.Tensor:
        return F.normalize(query + 0.5 * self.embed("caption", texts), dim=-1)  # (B, D)

    def unknown_words(self, texts: list[str]) -> list[str]:
        return [w for t in texts for w in t.split() if w not in WORDS]


if not TASKS.is_registered(TermsTask.name):
    TASKS.add(TermsTask.name, TermsTask)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("terms")
    task = TermsTask(TermsCfg()).eval()
    run = base / "run"
    payload = {"task": task.name, "task_cfg": task.export_cfg(), "state_dict": task.state_dict(),
               "domains": [s.to_dict() for s in task.domains().values()]}  # fmt: skip
    save_checkpoint(run / "model.pt", payload)
    rng = np.random.default_rng(1)
    photos, drawings = base / "photos", base / "drawings"
    photos.mkdir()
    drawings.mkdir()
    for i in range(6):
        Image.fromarray(rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)).save(photos / f"p{i}.png")
        Image.fromarray(rng.integers(0, 256, (50, 50), dtype=np.uint8), "L").save(drawings / f"d{i}.png")
    vectors = rng.standard_normal((5, 8)).astype(np.float32)
    np.savez(base / "feats.npz", train_vec=vectors, train_labels=np.arange(5))
    index = base / "index"
    build_index(run, f"folder:{photos}", index, domain="photo")
    build_index(run, f"folder:{drawings}", index, domain="drawing")
    build_index(run, f"features:path={base / 'feats.npz'},split=train,modality=vec", index)
    searcher = Searcher(index, run_dir=run)
    ids = {it["uri"]: int(it["id"]) for it in searcher.index.iter_items()}
    return {"task": task, "searcher": searcher, "photos": sorted(photos.glob("*.png")), "ids": ids,
            "drawings": sorted(drawings.glob("*.png")), "vectors": vectors}  # fmt: skip


def _all(searcher: Searcher) -> int:
    return len(searcher.index)


def _ranking(result: Any) -> list[tuple[int, float]]:
    return [(h.id, round(h.score, 5)) for h in result.hits]


def test_one_term_is_the_single_query_whatever_its_positive_weight(world: dict[str, Any]) -> None:
    s: Searcher = world["searcher"]
    n = _all(s)
    photo, drawing = world["photos"][2], world["drawings"][1]
    for weight in (1.0, 3.0):  # the final normalisation: a weight alone changes nothing
        got = s.search_terms([QueryTerm("image", photo, weight)], k=n, keep_query=True)
        assert _ranking(got) == _ranking(s.search_image(photo, k=n, keep_query=True))
        assert got.hits[0].uri == str(photo.resolve()) and got.hits[0].score == pytest.approx(1.0, abs=1e-4)
    sketch = s.search_terms([QueryTerm("sketch", drawing, 2.0)], k=n)
    assert _ranking(sketch) == _ranking(s.search_sketch(drawing, k=n)) and sketch.excluded
    item = world["ids"][str(photo.resolve())]
    assert _ranking(s.search_terms([QueryTerm("item", item)], k=n)) == _ranking(s.search_item(item, k=n))
    text = s.search_terms([QueryTerm("text", "a red chair")], k=n)
    assert _ranking(text) == _ranking(s.search_text("a red chair", k=n)) and text.query_domain == "caption"


def test_the_query_is_the_normalised_weighted_sum_of_normalised_terms(world: dict[str, Any]) -> None:
    """Five terms of every kind, one modified, weights of both signs: scores equal the hand computation (1)."""
    s: Searcher = world["searcher"]
    task: TermsTask = world["task"]
    photo, drawing = world["photos"][0], world["drawings"][3]
    item = world["ids"][str(world["photos"][5].resolve())]
    terms = [QueryTerm("image", photo, 1.0, modify="large blue cube"), QueryTerm("text", "a small red chair", 0.5),
             QueryTerm("sketch", drawing, -0.25), QueryTerm("features", world["vectors"][2], 2.0),
             QueryTerm("item", item, 0.75)]  # fmt: skip
    got = s.search_terms(terms, k=_all(s), keep_query=True)

    with torch.no_grad(), Image.open(photo) as p, Image.open(drawing) as d:  # by hand, each term in its domain
        x_photo = build_transform(task.domain("photo").preprocess)(p.convert("RGB"))[None]  # type: ignore[arg-type]
        x_draw = build_transform(task.domain("drawing").preprocess)(d.convert("L"))[None]  # type: ignore[arg-type]
        z_photo = task.embed("photo", x_photo)  # (1, D)
        z_photo = F.normalize(z_photo + 0.5 * task.embed("caption", ["large blue cube"]), dim=-1)  # T(f(x), g(t))
        raw = [z_photo[0].numpy(), task.embed("caption", ["a small red chair"])[0].numpy(),
               task.embed("drawing", x_draw)[0].numpy(),
               task.embed("vec", torch.from_numpy(world["vectors"][2:3]))[0].numpy(),
               s.index.reconstruct(item)]  # fmt: skip
    weights = [1.0, 0.5, -0.25, 2.0, 0.75]
    total = sum(w * v / np.linalg.norm(v) for w, v in zip(weights, raw, strict=True))
    query = (total / np.linalg.norm(total)).astype(np.float32)[None]  # (1, D)
    vectors = np.stack([s.index.reconstruct(i) for i in range(_all(s))])  # (N, D)
    scores, ids = exact_knn(query, vectors, _all(s))
    np.testing.assert_allclose([h.score for h in got.hits], scores[0].numpy(), atol=1e-5)
    assert [h.id for h in got.hits] == ids[0].tolist()
    assert got.query_domain == "photo+caption+drawing+vec" and got.excluded == []
    assert [(t["kind"], t["domain"], t["weight"], t["modify"]) for t in got.terms] == [
        ("image", "photo", 1.0, "large blue cube"), ("text", "caption", 0.5, None), ("sketch", "drawing", -0.25, None),
        ("features", "vec", 2.0, None), ("item", "photo", 0.75, None)]  # fmt: skip
    assert got.terms[3]["value"] == "<vector of 8>" and got.terms[4]["value"] == item
    unmodified = s.search_terms([QueryTerm("image", photo), *terms[1:]], k=_all(s), keep_query=True)
    assert _ranking(unmodified) != _ranking(got)  # the modification took part


def test_combine_terms_by_hand() -> None:
    z = torch.tensor([[3.0, 0.0], [0.0, 0.5]])  # norms 3 and 0.5: each normalised before weighting
    out = combine_terms(z, [1.0, -2.0])  # (1, 0) - 2 (0, 1) = (1, -2) -> / sqrt(5)
    np.testing.assert_allclose(out.numpy(), [[1 / 5**0.5, -2 / 5**0.5]], atol=1e-6)
    with pytest.raises(DataError, match="cancel out"):
        combine_terms(torch.tensor([[1.0, 2.0], [2.0, 4.0]]), [2.0, -2.0])
    with pytest.raises(DataError, match="zero or non-finite"):
        combine_terms(torch.tensor([[1.0, 2.0], [0.0, 0.0]]), [1.0, 1.0])


def test_a_negative_term_pushes_a_known_item_down(world: dict[str, Any]) -> None:
    """A's nearest photo B is first for the query A; A - B puts B below where it was, with a negative score."""
    s: Searcher = world["searcher"]
    a = world["ids"][str(world["photos"][0].resolve())]
    alone = s.search_terms([QueryTerm("item", a)], k=10, in_domains=["photo"])
    b = alone.hits[0].id
    assert alone.excluded == [a] and len(alone.hits) == 5
    pushed = s.search_terms([QueryTerm("item", a), QueryTerm("item", b, -1.0)], k=10, in_domains=["photo"])
    rank = {h.id: r for r, h in enumerate(pushed.hits, start=1)}
    assert rank[b] > 1 and pushed.hits[rank[b] - 1].score < 0 < alone.hits[0].score
    assert pushed.excluded == [a]  # a negative term's own item is not the query: it stays, ranked low
    assert pushed.hits[rank[b] - 1].score < min(h.score for h in alone.hits)


def test_positive_terms_leave_their_own_items_out(world: dict[str, Any]) -> None:
    s: Searcher = world["searcher"]
    p1, p4 = world["photos"][1], world["photos"][4]
    terms = [QueryTerm("image", p1), QueryTerm("image", p4, -0.5)]
    got = s.search_terms(terms, k=10, in_domains=["photo"])
    uris = [h.uri for h in got.hits]
    assert got.excluded == [world["ids"][str(p1.resolve())]] and str(p4.resolve()) in uris
    assert any("left out 1 hit(s)" in n for n in got.notes) and len(got.hits) == 5
    kept = s.search_terms(terms, k=10, in_domains=["photo"], keep_query=True)
    assert kept.excluded == [] and len(kept.hits) == 6 and kept.hits[0].uri == str(p1.resolve())


def test_bad_terms_are_one_line_errors(world: dict[str, Any]) -> None:
    s: Searcher = world["searcher"]
    photo, drawing = world["photos"][0], world["drawings"][0]
    cases: list[tuple[type[Exception], str, Any]] = [
        (ConfigError, "at least one term", lambda: s.search_terms([])),
        (ConfigError, "every query term has weight 0",
         lambda: s.search_terms([QueryTerm("image", photo, 0.0), QueryTerm("text", "red", 0)])),
        (ConfigError, "weight nan is not finite", lambda: QueryTerm("text", "red", float("nan"))),
        (ConfigError, "weight -inf is not finite", lambda: QueryTerm("text", "red", float("-inf"))),
        (ConfigError, "is not a number", lambda: QueryTerm("text", "red", "0.5")),
        (ConfigError, "kind 'audio' is unknown", lambda: QueryTerm("audio", "x")),
        (ConfigError, r"term 1 \(text@photo:red=1\): domain 'photo' takes image inputs, not text",
         lambda: s.search_terms([QueryTerm("text", "red", domain="photo")])),
        (ConfigError, r"term 2 .*query domain 'nope'",
         lambda: s.search_terms([QueryTerm("text", "red"), QueryTerm("image", photo, domain="nope")])),
        (ConfigError, r"term 1 \(sketch:.*modifies queries of domain\(s\) \['photo'\], not of domain 'drawing'",
         lambda: s.search_terms([QueryTerm("sketch", drawing, modify="make it red")])),
        (DataError, r"term 2 \(item:999=-1\): index .* has no item with id 999",
         lambda: s.search_terms([QueryTerm("image", photo), QueryTerm("item", 999, -1.0)])),
        (DataError, "an item term's value is an item id", lambda: QueryTerm("item", "3")),
        (ConfigError, "an item term takes no domain", lambda: QueryTerm("item", 3, domain="photo")),
        (DataError, "cancel out", lambda: s.search_terms([QueryTerm("image", photo), QueryTerm("image", photo, -1)])),
        (DataError, r"term 1 .*takes text", lambda: s.search_terms([QueryTerm("text", 5)])),
    ]  # fmt: skip
    for error, pattern, call in cases:
        with pytest.raises(error, match=pattern) as info:
            call()
        assert "\n" not in str(info.value), str(info.value)


@pytest.mark.parametrize(
    ("spec", "kind", "domain", "value", "weight"),
    [
        ("text:a red chair", "text", None, "a red chair", 1.0),
        ("text:a red chair=0.5", "text", None, "a red chair", 0.5),
        ("text:a red chair = -2", "text", None, "a red chair", -2.0),
        ("image:my photos/q: a=b.png", "image", None, "my photos/q: a=b.png", 1.0),
        ("image:my photos/q: a=b.png=0.5", "image", None, "my photos/q: a=b.png", 0.5),
        ("image@render3d:C:\\pics\\x.png=+2.5e-1", "image", "render3d", "C:\\pics\\x.png", 0.25),
        ("sketch@drawing:s.png", "sketch", "drawing", "s.png", 1.0),
        ("text:x=y", "text", None, "x=y", 1.0),
        ("text:ratio=1=1", "text", None, "ratio=1", 1.0),
        ("text:1e-3", "text", None, "1e-3", 1.0),
        ("text:=.5 is half", "text", None, "=.5 is half", 1.0),
        ("TEXT:red=.5", "text", None, "red", 0.5),
        ("item:42=-1", "item", None, 42, -1.0),
        ("item: 7 ", "item", None, 7, 1.0),
        ("features@vec:0.1", "features", "vec", "0.1", 1.0),
    ],
)
def test_parse_term(spec: str, kind: str, domain: str | None, value: Any, weight: float) -> None:
    term = parse_term(spec)
    assert (term.kind, term.domain, term.value, term.weight) == (kind, domain, value, weight)


@pytest.mark.parametrize(
    ("spec", "error", "pattern"),
    [
        ("a red chair", ConfigError, "expected KIND"),
        ("text red:chair", ConfigError, "expected KIND"),
        ("text@:red", ConfigError, "expected KIND"),
        ("audio:x.wav", ConfigError, "kind 'audio' is unknown"),
        ("text:", ConfigError, "nothing after 'text:'"),
        ("text:=0.5", ConfigError, "nothing after 'text:'"),
        ("text:red=nan", ConfigError, "weight nan is not finite"),
        ("image:a.png=inf", ConfigError, "weight inf is not finite"),
        ("item:abc", DataError, "item id"),
        ("item:-3", DataError, "item id"),
        ("item@photo:3", ConfigError, "takes no domain"),
    ],
)
def test_parse_term_refuses(spec: str, error: type[Exception], pattern: str) -> None:
    with pytest.raises(error, match=pattern) as info:
        parse_term(spec)
    assert str(info.value).startswith(f"query term {spec!r}") and "\n" not in str(info.value)


def test_terms_from_json() -> None:
    term = term_from_dict({"kind": "item", "value": 4, "weight": -0.5})
    assert term == QueryTerm("item", 4, -0.5)
    assert term_from_dict({"kind": "image", "value": "q.png", "modify": "make it red"}).modify == "make it red"
    with pytest.raises(ConfigError, match=r"terms\[1\]: expected keys .* got \['kind', 'text'\]"):
        term_from_dict({"kind": "text", "text": "red"}, "terms[1]")
    with pytest.raises(ConfigError, match=r"terms\[0\]: query term weight 'x' is not a number"):
        term_from_dict({"kind": "text", "value": "red", "weight": "x"}, "terms[0]")
    with pytest.raises(ConfigError, match="modify must be a string"):
        term_from_dict({"kind": "image", "value": "q.png", "modify": 3})


def test_a_path_term_is_described_as_given(tmp_path: Path) -> None:
    term = QueryTerm("image", tmp_path / "a b.png", 0.5)
    assert term.describe() == {"kind": "image", "domain": None, "value": str(tmp_path / "a b.png"), "weight": 0.5,
                               "modify": None}  # fmt: skip
