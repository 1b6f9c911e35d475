"""``semspace search --term``: weighted multi-term queries through the CLI, on a tiny trained text -> 3D run.

The run composes render3d queries with a modification (LTT); its index holds the world gallery as render3d
pictures and as text descriptions, so terms of three kinds (image, text, item) and a modification meet.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from semspace.cli.main import main
from semspace.config import load_run_cfg
from semspace.engine.run import train
from semspace.retrieval import Searcher
from semspace.retrieval.terms import QueryTerm

ROOT = Path(__file__).resolve().parents[2]
TINY = ["data.train.args.n=32", "data.train.args.size=32", "train.max_steps=3", "train.batch_size=16",
        "train.num_workers=0", "train.eval_every=0", "train.log_every=5", "eval={}"]  # fmt: skip
GALLERY = "world_scenes:split=test,n=10,size=32,view=render3d"


@pytest.fixture(scope="module")
def terms_index(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("cli_terms")
    enc = ["task_args.source_encoder=tiny_lstm_text", "task_args.target_encoder=tiny_cnn", "data.train.cache=false",
           "task_args.text_encoder=tiny_lstm_text", "task_args.embed_dim=32"]  # fmt: skip
    run = base / "run"
    train(load_run_cfg(ROOT / "configs" / "transfer/world_text_to_3d.yaml", [*enc, *TINY]), run)
    index = base / "index"
    assert main(["index", "build", "--run-dir", str(run), "--data", GALLERY, "--out", str(index)]) == 0
    assert main(["index", "build", "--run-dir", str(run), "--data", GALLERY, "--domain", "text", "--out",
                 str(index)]) == 0  # fmt: skip
    searcher = Searcher(index)
    query = base / "my query: a=b.png"  # a path with a space, ':' and '='
    searcher.index.thumbnail(3).save(query)  # type: ignore[union-attr]  (item 3's own model input)
    return {"index": index, "searcher": searcher, "query": query}


def _search(capsys: pytest.CaptureFixture[str], index: Path, *args: str) -> tuple[dict[str, Any], str]:
    capsys.readouterr()
    assert main(["search", "--index", str(index), "--json", *args]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


def _error(capsys: pytest.CaptureFixture[str], index: Path, *args: str) -> str:
    capsys.readouterr()
    assert main(["search", "--index", str(index), *args]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and "Traceback" not in err, err
    return err


def test_a_negative_item_term_pushes_the_nearest_neighbour_down(
    terms_index: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    index = terms_index["index"]
    a = 5
    alone, _ = _search(capsys, index, "--term", f"item:{a}", "--domain", "render3d", "-k", "19")
    b = alone["hits"][0]["id"]  # A's nearest neighbour (A and its identical copies are left out)
    assert a in alone["excluded"] and b not in alone["excluded"]
    pushed, _ = _search(capsys, index, "--term", f"item:{a}", "--term", f"item:{b}=-1", "--domain", "render3d",
                        "-k", "19")  # fmt: skip
    ranks = {h["id"]: h["rank"] for h in pushed["hits"]}
    assert ranks[b] > 1 and pushed["hits"][ranks[b] - 1]["score"] < alone["hits"][0]["score"]
    assert pushed["terms"] == [
        {"kind": "item", "domain": "render3d", "value": a, "weight": 1.0, "modify": None},
        {"kind": "item", "domain": "render3d", "value": b, "weight": -1.0, "modify": None},
    ]
    assert pushed["query"] is None and pushed["query_domain"] == "render3d"


def test_terms_with_spaces_colons_and_equals_match_the_library(
    terms_index: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    index, searcher, query = terms_index["index"], terms_index["searcher"], terms_index["query"]
    doc, err = _search(capsys, index, "--term", f"image:{query}=0.5", "--term", "text:a large red cube = 2",
                       "--term", "text@text:small=-0.25", "-k", "40")  # fmt: skip
    assert [(t["kind"], t["domain"], t["value"], t["weight"]) for t in doc["terms"]] == [
        ("image", "render3d", str(query), 0.5), ("text", "text", "a large red cube", 2.0),
        ("text", "text", "small", -0.25)]  # fmt: skip
    want = searcher.search_terms([QueryTerm("image", str(query), 0.5), QueryTerm("text", "a large red cube", 2.0),
                                  QueryTerm("text", "small", -0.25, domain="text")], k=40)  # fmt: skip
    assert [(h["id"], h["score"]) for h in doc["hits"]] == [(h.id, pytest.approx(h.score)) for h in want.hits]
    assert 3 in doc["excluded"] and doc["query_domain"] == "render3d+text"  # the picture's own item left out
    assert "note: left out" in err


def test_modify_composes_the_one_image_term(terms_index: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    index, searcher, query = terms_index["index"], terms_index["searcher"], terms_index["query"]
    text = "make the large red cube blue"
    doc, _ = _search(capsys, index, "--term", f"image:{query}", "--term", "text:a small cube=0.5", "--modify", text,
                     "-k", "10", "--keep-query")  # fmt: skip
    assert doc["terms"][0]["modify"] == text and doc["terms"][1]["modify"] is None
    want = searcher.search_terms([QueryTerm("image", str(query), modify=text), QueryTerm("text", "a small cube", 0.5)],
                                 k=10, keep_query=True)  # fmt: skip
    assert [h["id"] for h in doc["hits"]] == [h.id for h in want.hits]
    plain, _ = _search(capsys, index, "--term", f"image:{query}", "--term", "text:a small cube=0.5", "-k", "10",
                       "--keep-query")  # fmt: skip
    assert [h["score"] for h in plain["hits"]] != [h["score"] for h in doc["hits"]]
    item, _ = _search(capsys, index, "--term", "item:3", "--term", "text:red=0.5", "--modify", text)
    assert item["terms"][0]["modify"] == text


def test_the_table_lists_the_terms(
    terms_index: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    grid = tmp_path / "terms.png"
    assert main(["search", "--index", str(terms_index["index"]), "--term", "item:3", "--term", "text:blue=-0.5",
                 "-k", "3", "--grid", str(grid)]) == 0  # fmt: skip
    lines = [line.rstrip() for line in capsys.readouterr().out.strip().splitlines()]
    assert lines[0] == "3 results for 2 weighted terms (render3d+text) in render3d, text"
    assert lines[-3:] == ["term 1: item in render3d, weight 1: 3", "term 2: text in text, weight -0.5: blue",
                          f"wrote {grid}"]  # fmt: skip
    with Image.open(grid) as img:
        assert img.format == "PNG" and img.width > 3 * 96


def test_bad_term_queries_are_one_line_errors(terms_index: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    index, query = terms_index["index"], str(terms_index["query"])
    cases = [
        (["--term", f"image:{query}", "--term", "item:3", "--modify", "make it red"],
         "--modify applies to exactly one image or item term; the terms hold 2 (terms 1, 2)"),
        (["--term", "text:red", "--modify", "make it red"], "the terms hold 0"),
        (["--term", "text:red", "--image", query], "give either --term (repeatable) or --image, not both"),
        (["--term", "text:red", "--query-domain", "text"], "--query-domain names the domain of a single query"),
        (["--term", "sketch:drawing.png"], "query term 1 (sketch:drawing.png=1): task 'transfer' embeds no sketch"),
        (["--term", "text:red=0", "--term", "item:3=0.0"], "every query term has weight 0"),
        (["--term", "text:red=nan"], "weight nan is not finite"),
        (["--term", "a red cube"], "expected KIND[@DOMAIN]:VALUE[=WEIGHT]"),
        (["--term", "item:99999"], "query term 1 (item:99999=1): index"),
        (["--term", "text@render3d:red"], "domain 'render3d' takes image inputs, not text"),
        (["--term", "item:3", "--term", "item:3=-1"], "the weighted query terms cancel out"),
    ]  # fmt: skip
    for args, expected in cases:
        assert expected in _error(capsys, index, *args)


def test_help_shows_the_term_syntax(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.replace("│", " ").split())
    assert "Terms (--term, repeatable) are KIND:VALUE or KIND@DOMAIN:VALUE, optionally ending in =WEIGHT" in out
    assert "('text:x=1=1' is the text x=1, weight 1)" in out and "--term 'item:42=-1'" in out
