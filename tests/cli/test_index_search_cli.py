"""``semspace index build`` and ``semspace search`` end to end on tiny trained runs (align; transfer for --modify)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from semspace.cli.main import main
from semspace.config import load_run_cfg
from semspace.engine.run import train
from semspace.errors import ConfigError
from semspace.eval.figures import NEUTRAL, QUERY
from semspace.index import exact_knn
from semspace.retrieval import Searcher
from semspace.retrieval.inputs import query_input

ROOT = Path(__file__).resolve().parents[2]
TINY = ["data.train.args.n=32", "data.train.args.size=32", "train.max_steps=3", "train.batch_size=16",
        "train.num_workers=0", "train.eval_every=0", "train.log_every=5", "eval={}"]  # fmt: skip
WORLD = "world_scenes:split=test,n=10,size=32,targets=false"


def _train(config: str, overrides: list[str], run_dir: Path) -> Path:
    train(load_run_cfg(ROOT / "configs" / config, [*overrides, *TINY]), run_dir)
    return run_dir


@pytest.fixture(scope="module")
def align_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(run, index, photos): an align run and an index of the world gallery plus a folder of PNGs."""
    base = tmp_path_factory.mktemp("cli_index")
    enc = ["task_args.encoder_a=tiny_cnn", "task_args.encoder_b=tiny_cnn", "task_args.embed_dim=32"]
    run = _train("align/world_2d_3d.yaml", enc, base / "run")
    photos = base / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (30, 50, 4), dtype=np.uint8), "RGBA").save(photos / "rgba.png")
    Image.fromarray(rng.integers(0, 256, (41, 23), dtype=np.uint8), "L").save(photos / "grey.png")
    Image.fromarray(rng.integers(0, 256, (64, 20, 3), dtype=np.uint8)).convert("P").save(photos / "palette.png")
    index = base / "index"
    assert main(["index", "build", "--run-dir", str(run), "--data", WORLD, "--out", str(index)]) == 0
    assert main(["index", "build", "--run-dir", str(run), "--data", f"folder:{photos}", "--out", str(index)]) == 0
    return run, index, photos


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and "Traceback" not in err, err
    return err


def test_build_prints_a_one_line_summary(
    align_index: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    run, index, photos = align_index
    capsys.readouterr()
    assert main(["index", "build", "--run-dir", str(run), "--data", f"folder:{photos}", "--out", str(index)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "0 added, 0 updated, 0 removed, 3 unchanged, 0 unreadable; 0 embedded; 23 items" in out[0]
    assert out[0].endswith("nothing changed, nothing written")


def test_image_search_finds_the_image_itself(align_index: tuple[Path, Path, Path], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    _, index, photos = align_index
    capsys.readouterr()
    for png in sorted(photos.iterdir()):
        assert main(["search", "--index", str(index), "--image", str(png), "-k", "4", "--json", "--keep-query"]) == 0
        doc = json.loads(capsys.readouterr().out)
        assert doc["query"] == str(png) and doc["modify"] is None and doc["unknown_words"] == []
        top = doc["hits"][0]
        assert top["rank"] == 1 and top["uri"] == str(png.resolve()) and top["score"] == pytest.approx(1.0, abs=1e-4)
        assert [h["rank"] for h in doc["hits"]] == [1, 2, 3, 4]
        assert main(["search", "--index", str(index), "--image", str(png), "-k", "4", "--json"]) == 0
        captured = capsys.readouterr()
        doc = json.loads(captured.out)  # by default: itself left out, and the note says so on stderr
        assert str(png.resolve()) not in [h["uri"] for h in doc["hits"]] and len(doc["hits"]) == 4
        assert "note: left out 1 hit(s) identical to the query" in captured.err and doc["excluded"]
    grid = tmp_path / "grid.png"
    grey = photos / "grey.png"
    assert main(["search", "--index", str(index), "--image", str(grey), "-k", "3", "--grid", str(grid),
                 "--keep-query"]) == 0  # fmt: skip
    lines = capsys.readouterr().out.strip().splitlines()  # rich: title, header, rule, rows, then "wrote"
    assert lines[0].startswith("3 results for a render3d query in ") and lines[-1] == f"wrote {grid}"
    header = lines[1]
    assert [c.strip() for c in header.split("┃")] == ["rank", "id", "score", "domain", "label", "uri"]
    rows = lines[3:6]
    assert rows[0].split("│")[0].strip() == "1" and rows[0].rstrip().endswith(str(grey.resolve()))
    uri_col = header.index("uri")
    assert all(r[uri_col - 2 : uri_col] == "│ " and r[uri_col] != " " for r in rows)  # an aligned column
    assert all(len(r) <= 200 for r in lines)  # no wrapping into a second screen
    with Image.open(grid) as img:
        assert img.format == "PNG" and img.width > 3 * 64
        gap, cell = 8, 96  # retrieval_grid's layout: query, then results framed grey (relevance unknown)
        first_result_x = gap + (cell + gap) + gap
        assert img.getpixel((gap + 1, gap + 1)) == QUERY and img.getpixel((first_result_x + 1, gap + 1)) == NEUTRAL


def test_user_errors_exit_non_zero_with_one_line(align_index: tuple[Path, Path, Path], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    run, index, photos = align_index
    png = str(photos / "rgba.png")
    assert main(["search", "--index", str(tmp_path / "missing"), "--image", png]) == 1
    assert "missing does not exist" in _one_line_error(capsys)
    enc = ["task_args.encoder_a=tiny_cnn", "task_args.encoder_b=tiny_cnn", "task_args.embed_dim=32", "train.seed=1"]
    other = _train("align/world_2d_3d.yaml", enc, tmp_path / "other")  # another model (another seed)
    capsys.readouterr()
    assert main(["search", "--index", str(index), "--image", png, "--run-dir", str(other)]) == 1
    assert "was built with checkpoint" in _one_line_error(capsys)
    assert main(["index", "build", "--run-dir", str(other), "--data", WORLD, "--out", str(index)]) == 1
    assert "was built with checkpoint" in _one_line_error(capsys)
    assert main(["search", "--index", str(index)]) == 1
    assert "exactly one query" in _one_line_error(capsys)
    assert main(["search", "--index", str(index), "--image", png, "--modify", "make it blue"]) == 1
    assert "task 'align' cannot compose (it can: embed)" in _one_line_error(capsys)
    assert main(["index", "build", "--run-dir", str(run), "--data", "folder:", "--out", str(index)]) == 1
    assert "nothing after ':'" in _one_line_error(capsys)


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    for cmd in (["index", "build", "--help"], ["search", "--help"]):
        assert main(cmd) == 0
        assert "Example:" in capsys.readouterr().out


def test_grids_take_their_format_from_the_suffix_and_wrap(
    align_index: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, index, photos = align_index
    grey = str(photos / "grey.png")
    base = ["search", "--index", str(index), "--image", grey]
    capsys.readouterr()
    assert main([*base, "-k", "100000", "--grid", str(tmp_path / "all.jpg")]) == 0
    err = capsys.readouterr().err
    assert "note: asked for 100000 results; the searched domain(s) render3d hold 23 item(s), 1 of them the query" in err
    with Image.open(tmp_path / "all.jpg") as img:  # JPEG bytes under a .jpg name, 22 results wrapped 10 to a row
        assert img.format == "JPEG" and img.width == 11 * (96 + 8) + 16 and img.height > 3 * 96
    assert main([*base, "--grid", str(tmp_path / "grid.webp")]) == 0
    with Image.open(tmp_path / "grid.webp") as img:
        assert img.format == "WEBP"
    capsys.readouterr()
    assert main([*base, "--grid", str(tmp_path / "grid.txt")]) == 1
    err = capsys.readouterr().err.strip()
    assert "suffix '.txt' names no picture format" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "grid.txt").exists()


def test_modify_composes_the_query_and_warns_about_unknown_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    enc = ["task_args.source_encoder=tiny_cnn", "task_args.target_encoder=tiny_cnn", "data.train.cache=false",
           "task_args.text_encoder=tiny_lstm_text", "task_args.embed_dim=32"]  # fmt: skip
    run = _train("transfer/world_2d_to_3d.yaml", enc, tmp_path / "run")
    index = tmp_path / "index"
    assert main(["index", "build", "--run-dir", str(run), "--data", WORLD, "--out", str(index)]) == 0
    query = tmp_path / "query.png"
    Searcher(index).index.thumbnail(3).save(query)  # type: ignore[union-attr]
    capsys.readouterr()

    def search(*extra: str) -> tuple[dict, str]:  # type: ignore[type-arg]
        assert main(["search", "--index", str(index), "--image", str(query), "-k", "20", "--json", *extra]) == 0
        captured = capsys.readouterr()
        return json.loads(captured.out), captured.err

    plain, err = search("--keep-query")
    assert plain["hits"][0]["id"] == 3 and err == ""  # the thumbnail is the item's own model input
    assert search()[0]["excluded"] == [3]  # so by default it is left out
    for blank in ("", "   "):
        doc, err = search("--modify", blank, "--keep-query")
        assert doc["hits"] == plain["hits"] and "plain search" in err  # an empty modification is a plain search
    text = "make the large red cube zorblax"
    modified, err = search("--modify", text, "--keep-query")
    assert modified["unknown_words"] == ["zorblax"] and len(modified["hits"]) == 20  # reported, and answered
    assert "warning" in err and "zorblax" in err and len(err.strip().splitlines()) == 1
    searcher = Searcher(index)  # the composed query, by hand: T(f(x), g(t)) against every stored vector
    with torch.no_grad():
        z = searcher.task.compose(
            searcher.task.embed("render3d", query_input(searcher.domains["render3d"], Image.open(query))), [text]
        )
    vectors = np.stack([searcher.index.reconstruct(i) for i in range(len(searcher.index))])  # (N, D)
    ref_scores, _ = exact_knn(z.numpy(), vectors, 20)
    np.testing.assert_allclose([h["score"] for h in modified["hits"]], ref_scores[0].numpy(), atol=1e-5)
    assert [h["score"] for h in modified["hits"]] != [h["score"] for h in plain["hits"]]


def test_one_index_holds_renders_and_their_descriptions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A text -> 3D transfer run: the same gallery indexed twice, as render3d images and as text descriptions."""
    enc = ["task_args.source_encoder=tiny_lstm_text", "task_args.target_encoder=tiny_cnn", "data.train.cache=false",
           "task_args.text_encoder=tiny_lstm_text", "task_args.embed_dim=32"]  # fmt: skip
    run = _train("transfer/world_text_to_3d.yaml", enc, tmp_path / "run")
    index = tmp_path / "index"
    gallery = "world_scenes:split=test,n=10,size=32,view=render3d"
    assert main(["index", "build", "--run-dir", str(run), "--data", gallery, "--out", str(index)]) == 0
    assert main(["index", "build", "--run-dir", str(run), "--data", gallery, "--domain", "text", "--out",
                 str(index)]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "as domain render3d (image; the items' own domain)" in out and "as domain text (text; --domain)" in out
    searcher = Searcher(index)
    counts = searcher.index.domain_counts()
    assert counts == {"render3d": 20, "text": 20}  # one item per gallery position in each domain
    item = next(it for it in searcher.index.iter_items() if it["domain"] == "text")
    assert searcher.index.thumbnail(int(item["id"])) is None and item["caption"]
    twins = searcher.index.ids_with_hashes([item["content_hash"]], ["text"])  # equal scenes: equal texts
    text_query = ["search", "--index", str(index), "--text", item["caption"], "--domain", "text", "--json"]
    assert main([*text_query, "--keep-query"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["query_domain"] == "text" and {h["domain"] for h in doc["hits"]} == {"text"}
    assert {h["id"] for h in doc["hits"][: len(twins)]} == set(twins)
    assert doc["hits"][0]["score"] == pytest.approx(1.0, abs=1e-4)
    assert main(text_query) == 0
    assert json.loads(capsys.readouterr().out)["excluded"] == twins  # the same text is the query itself
    with pytest.raises(ConfigError, match=r"modifies queries of domain\(s\) \['render3d'\], not of domain 'text'"):
        searcher.search(item["caption"], domain="text", modify="make it red")
    assert main(["search", "--index", str(index), "--text", item["caption"], "--domain", "render3d", "--json"]) == 0
    assert {h["domain"] for h in json.loads(capsys.readouterr().out)["hits"]} == {"render3d"}
