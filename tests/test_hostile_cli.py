"""What a hostile user tried, through the real `hidt translate`: each reproduction of the
report, checked the way they ran it (tiny random weights, files made here)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import av
import numpy as np
import pytest

from hidt_cli import convert
from hidt_cli.io.output import save_result
from hidt_cli.io.video import read_frames
from hidt_cli.recipes import Recipe, recorded
from tests.clips import make_clip
from tests.conftest import run_hidt
from tests.fuzz_corpus import HOSTILE_FILES
from tests.images import make_photo, save_photo


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize(
    "links",
    [
        [("a2", "b2"), ("b2", "a2")],  # a cycle between two files
        [("x", "x")],  # a self link
        [("loop", ".")],  # a folder that contains itself
        [("gone", "nowhere.png")],  # dangling
    ],
)
def test_one_bad_link_is_one_line_and_the_rest_of_the_batch_runs(tiny_weights, tmp_path, links):
    folder = tmp_path / "L"
    save_photo(folder / "p.png")
    for name, target in links:
        os.symlink(target, folder / name)
    result = run_hidt("translate", tiny_weights, folder, "--preset", "night", "-r", "--json")
    report = json.loads(result.stdout)
    assert report["converted"] == 1 and (folder / "p_night.png").is_file(), result.output
    assert "Traceback" not in result.output and "Errno" not in result.stderr
    if links[0][0] != "loop":  # a folder reached again is simply not walked twice
        assert result.exit_code == 1 and report["failed"] == len(links)


@pytest.mark.parametrize("hostile", [h for h in HOSTILE_FILES if h.loader == "video"])
def test_a_clip_cut_short_is_named_as_damaged_and_nothing_is_kept(tiny_weights, tmp_path, hostile):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / hostile.name).write_bytes(hostile.make())
    save_photo(folder / "p.png")
    result = run_hidt("translate", tiny_weights, folder, "--preset", "night", "--json")
    report = json.loads(result.stdout)
    assert result.exit_code == 1 and (report["converted"], report["failed"]) == (1, 1)
    assert hostile.reason in result.stderr and hostile.name in result.stderr
    assert names(folder) == sorted([hostile.name, "p.png", "p_night.png"])


def test_distinct_style_codes_give_distinct_outputs_and_a_rerun_skips_only_the_same(
    tiny_weights, photo
):
    first = run_hidt("translate", tiny_weights, photo, "--style-code=-0.5,-1,-1")
    second = run_hidt("translate", tiny_weights, photo, "--style-code=1,0.25,0")
    assert first.exit_code == second.exit_code == 0
    assert {"photo_code-0.5_-1_-1.jpg", "photo_code1_0.25_0.jpg"} <= set(names(photo.parent))
    again = run_hidt("translate", tiny_weights, photo, "--style-code=-0.5,-1,-1")
    assert again.exit_code == 0 and "0 converted, 1 skipped" in again.stderr
    recipe = Recipe.parse(recorded(photo.parent / "photo_code-0.5_-1_-1.jpg"))
    assert recipe is not None and recipe.style == "-0.5,-1,-1"


def test_style_images_of_one_name_get_their_own_outputs(tiny_weights, photo, tmp_path):
    a, b = (
        save_photo(tmp_path / "a" / "s.png", make_photo(seed=3)),
        save_photo(tmp_path / "b" / "s.png", make_photo(seed=4)),
    )
    assert run_hidt("translate", tiny_weights, photo, "--style", a).exit_code == 0
    result = run_hidt("translate", tiny_weights, photo, "--style", b)
    assert result.exit_code == 0 and "1 converted" in result.stderr, result.output
    made = [n for n in names(photo.parent) if n.startswith("photo_s")]
    assert len(made) == 2 and "photo_s.jpg" in made  # the second: photo_s-<its hash>.jpg
    rerun = run_hidt("translate", tiny_weights, photo, "--style", b)
    assert "0 converted, 1 skipped" in rerun.stderr, rerun.output


def test_an_output_made_another_way_is_kept_and_named(tiny_weights, photo):
    assert run_hidt("translate", tiny_weights, photo, "--preset", "night").exit_code == 0
    before = (photo.parent / "photo_night.jpg").read_bytes()
    other = run_hidt("translate", tiny_weights, photo, "--preset", "night", "--plain-resize")
    assert other.exit_code == 1 and "made another way" in other.stderr
    assert (photo.parent / "photo_night.jpg").read_bytes() == before
    assert (
        run_hidt("translate", tiny_weights, photo, "--preset", "night", "--overwrite").exit_code
        == 0
    )


def test_a_new_preset_does_not_translate_earlier_outputs(tiny_weights, tmp_path):
    save_photo(tmp_path / "x.png")
    assert run_hidt("translate", tiny_weights, tmp_path, "--preset", "night").exit_code == 0
    result = run_hidt("translate", tiny_weights, tmp_path, "--preset", "day")
    assert result.exit_code == 0, result.output
    assert names(tmp_path) == ["x.png", "x_day.png", "x_night.png"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--random", "1000000"], "between 1 and 1000"),
        (["--preset", "night", "--suffix", "/../../x"], "--suffix"),
        (["--style-code=1e30,1e30,-1e30"], "outside ±10"),
        (["--style-code=nan,0,0"], "finite"),
        (["--random", "2", "--seed", "99999999999999999999999"], "--seed"),
        (["--preset", "nigth"], "did you mean 'night'?"),
    ],
)
def test_bad_options_are_refused_before_any_work(tiny_weights, photo, args, words):
    result = run_hidt("translate", tiny_weights, photo, *args)
    assert result.exit_code == 2 and words in result.stderr, result.output
    assert result.stderr.count("\n") == 1 and names(photo.parent) == ["photo.jpg"]


def test_an_output_folder_that_is_a_file_is_refused_before_any_work(tiny_weights, photo, tmp_path):
    (tmp_path / "taken").write_text("a file")
    result = run_hidt(
        "translate", tiny_weights, photo, "--preset", "night", "-d", tmp_path / "taken"
    )
    assert (
        result.exit_code == 2 and "names a file" in result.stderr and "exists" not in result.stderr
    )


def test_a_video_given_as_a_style_points_to_guide(tiny_weights, photo, tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", [make_photo(48, 32)] * 3)
    result = run_hidt("translate", tiny_weights, photo, "--style", clip)
    assert result.exit_code == 2 and f"--guide {clip}" in result.stderr


def test_an_output_another_run_finished_meanwhile_is_skipped_not_failed(
    tiny_weights, photo, monkeypatch
):
    """Two runs into one folder: the other one publishes the same output first; this one
    must neither replace it nor count it as a failure."""

    def another_run_first(path, *args, **kwargs):
        save_result(path, *args, **kwargs)  # the other run's identical output
        save_result(path, *args, **kwargs)  # ours, which must not replace it

    monkeypatch.setattr(convert, "save_result", another_run_first)
    result = run_hidt("translate", tiny_weights, photo, "--preset", "night", "--json")
    report = json.loads(result.stdout)
    assert result.exit_code == 0 and (report["skipped"], report["failed"]) == (1, 0), result.output


def odd_clip(path: Path, width: int, height: int, frames: int = 3) -> Path:
    """A lossless clip of odd sides (FFV1 4:4:4 in Matroska holds them; H.264 4:2:0 cannot)."""
    with av.open(str(path), "w", format="matroska") as out:
        stream = out.add_stream("ffv1", rate=10)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv444p"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(make_photo(width, height, seed=i), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def test_an_odd_sized_clip_is_padded_to_even_sides_by_repeating_its_edge(tiny_weights, tmp_path):
    """H.264 in 4:2:0 needs even sides: a 317×241 clip comes out 318×242, its last column and
    row repeated (README says so)."""
    clip = odd_clip(tmp_path / "odd.mkv", 317, 241)
    result = run_hidt("translate", tiny_weights, clip, "--preset", "night")
    assert result.exit_code == 0, result.output
    out = list(read_frames(tmp_path / "odd_night.mp4"))[0].astype(int)
    assert out.shape == (242, 318, 3)
    assert np.abs(out[:, -1] - out[:, -2]).mean() < 3 and np.abs(out[-1] - out[-2]).mean() < 3
