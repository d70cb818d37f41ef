"""`hidt train-classifier`, `hidt evaluate` and `hidt evaluate-paired` end to end with tiny
random weights and a tiny classifier made here."""

from __future__ import annotations

import builtins
import json
import re
from pathlib import Path

import pytest
from PIL import Image

from hidt_cli.eval import classifier
from hidt_cli.eval.report import DESCRIPTIONS
from tests.conftest import invoke, run_hidt
from tests.eval_inputs import make_classifier_file, write_labelled_photos, write_scene_set
from tests.images import make_photo


@pytest.fixture
def photos(tmp_path) -> tuple[Path, Path]:
    """Three content photos and two style photos of different sizes."""
    contents, styles = tmp_path / "contents", tmp_path / "styles"
    contents.mkdir()
    styles.mkdir()
    for i, (width, height) in enumerate([(96, 64), (64, 80), (80, 80)]):
        Image.fromarray(make_photo(width, height, i)).save(contents / f"c{i}.png")
    for i in range(2):
        Image.fromarray(make_photo(72, 56, 10 + i)).save(styles / f"amos-night-{i}.jpg")
    return contents, styles


def linked_files(page: Path) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', page.read_text()) + re.findall(
        r"href='([^']+)'", page.read_text()
    )


def test_evaluate_writes_a_self_contained_report(tmp_path, tiny_weights, photos):
    contents, styles = photos
    classifier = make_classifier_file(tmp_path / "classifier.safetensors")
    report = tmp_path / "report"
    args = [contents, "--styles", styles, "-o", report, "--classifier", classifier]
    result = run_hidt("evaluate", tiny_weights, *args, "--random", 3, "--quiet", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads((report / "metrics.json").read_text())
    expected = {"is_random", "cis_random", "dipd_random", "is_swap", "cis_swap", "dipd_swap"}
    expected |= {"hit_rate", "style_consistency", "reconstruction_psnr_db", "is_real"}
    expected |= {"prior_cast_a", "prior_cast_b", "reconstruction_chroma_kept"}
    expected |= {"hires_reconstruction_psnr_db", "bicubic_reconstruction_psnr_db"}
    assert expected <= set(data["metrics"])
    assert data["counts"]["swap_translations"] == 6 and data["counts"]["random_translations"] == 9
    assert 1 <= data["metrics"]["is_random"] <= 2  # two classes
    assert 0 < data["metrics"]["reconstruction_chroma_kept"] < 10  # a ratio of the set's chroma
    assert len(data["style_photos"]) == 2 and "Inception" in data["note"]
    page = (report / "index.html").read_text()
    for name in expected:
        assert name in page
    links = linked_files(report / "index.html")
    assert {"swap_grid.png", "prior_grid.png", "style_codes.png", "hires.png"} <= set(links)
    for link in links:
        assert not Path(link).is_absolute() and (report / link).is_file(), link
    assert json.loads(result.stdout)["metrics"] == data["metrics"]


def test_evaluate_without_classifier_or_inputs_fails_clearly(tmp_path, tiny_weights, photos):
    contents, styles = photos
    args = [contents, "--styles", styles, "-o", tmp_path / "r"]
    missing = run_hidt("evaluate", tiny_weights, *args, "--classifier", "nope.safetensors")
    assert missing.exit_code == 3 and "train-classifier" in missing.output
    nothing = run_hidt("evaluate", tiny_weights, tmp_path / "none.jpg", "--styles", styles)
    assert nothing.exit_code == 4


def test_evaluate_says_what_to_install_without_matplotlib(tiny_weights, photos, monkeypatch):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("no matplotlib")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    contents, styles = photos
    result = run_hidt("evaluate", tiny_weights, contents, "--styles", styles)
    assert result.exit_code == 2 and "hidt-daytime[eval]" in result.output


def test_train_classifier_command(tmp_path):
    data = write_labelled_photos(tmp_path / "data", per_class=6)
    extra = tmp_path / "extra"  # a second folder, named as daytime-extra/ names its photos
    extra.mkdir()
    for i, photo in enumerate(sorted(data.glob("amos-night-*"))):
        (extra / f"phone-night-{i:03}.png").write_bytes(photo.read_bytes())
    (extra / "phone-dusk-000.png").write_bytes((data / "unlabelled.png").read_bytes())
    out = tmp_path / "weights" / "classifier.safetensors"
    out.parent.mkdir()
    (out.parent / "manifest.json").write_text('{"files": {}}')
    args = [data, extra, "--out", out, "--epochs", 2, "--size", 32, "--device", "cpu"]
    result = invoke("train-classifier", *args, "--quiet", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["classes"] == ["day", "night"] and len(report["confusion_matrix"]) == 2
    # both folders count; the dusk photo has no class and is left out
    assert report["train_photos"] + report["held_out_photos"] == 6 + 6 + 6
    assert report["held_out_per_class"]["night"] == 2  # 15 % of 12, rounded up
    assert out.name in json.loads((out.parent / "manifest.json").read_text())["files"]
    provenance = classifier.load(out).info.provenance
    assert provenance["data"]["folders"] == ["data", "extra"]
    bad = invoke("train-classifier", data, "--out", tmp_path / "c.pt")
    assert bad.exit_code == 2


def test_evaluate_paired_on_generated_scenes(tmp_path, tiny_weights):
    scenes = write_scene_set(tmp_path / "scenes")
    report = tmp_path / "paired"
    result = run_hidt("evaluate-paired", tiny_weights, scenes, "-o", report, "--quiet", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads((report / "metrics.json").read_text())
    assert len(data["pairs"]) == 2 * 3 * 2  # two scenes, three frames, every ordered pair
    summary = data["summaries"]["all frame pairs"]
    assert set(summary) == {"hidt", "reinhard", "unchanged"}
    # Reinhard matches the target's colours, so it beats leaving the frame unchanged.
    assert summary["reinhard"]["lab_l1"] < summary["unchanged"]["lab_l1"]
    for link in linked_files(report / "index.html"):
        assert (report / link).is_file(), link
    args = [scenes, "--find-scenes", "-o", tmp_path / "found", "--quiet", "--json"]
    found = run_hidt("evaluate-paired", tiny_weights, *args)
    assert found.exit_code == 0, found.output
    assert len(json.loads((tmp_path / "found" / "metrics.json").read_text())["scenes"]) == 2


def test_descriptions_cover_the_table():
    assert {"is_random", "cis_swap", "dipd_swap", "hit_rate"} <= set(DESCRIPTIONS)
