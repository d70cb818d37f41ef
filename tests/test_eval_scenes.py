"""Scenes for the paired evaluation: scene folders, finding views by feature matching, and
choosing frames across the range of brightness."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from hidt_cli.eval.scenes import find_scenes, scene_folders, spread_frames
from tests.eval_inputs import LIGHTS, lit, view, write_scene_set


def test_scene_folders(tmp_path):
    root = write_scene_set(tmp_path / "scenes")
    (root / "lonely").mkdir()
    Image.fromarray(lit(view(9), "day")).save(root / "lonely" / "one.png")
    scenes = scene_folders(root)
    assert [s.name for s in scenes] == ["scene0", "scene1"]  # one frame is no scene
    assert [f.name for f in scenes[0].frames] == ["day.png", "dusk.png", "night.png"]
    with pytest.raises(ValueError):
        scene_folders(root / "lonely")


def test_scene_folders_follow_the_walking_rule(tmp_path):
    """Hidden folders and frames are skipped, a scene linked under a second name is one
    scene, and a folder named like an image is no frame."""
    root = write_scene_set(tmp_path / "scenes")
    (root / "alias").symlink_to(root / "scene1")
    (root / ".cache").mkdir()
    (root / "scene0" / "folder.png").mkdir()
    for light in ("day", "night"):
        Image.fromarray(lit(view(9), light)).save(root / ".cache" / f"{light}.png")
    Image.fromarray(lit(view(0), "day")).save(root / "scene0" / ".day.png")
    scenes = scene_folders(root)
    assert [s.name for s in scenes] == ["scene0", "scene1"]
    assert [f.name for f in scenes[0].frames] == ["day.png", "dusk.png", "night.png"]


def test_find_scenes_groups_frames_of_one_view_across_lights(tmp_path):
    photos = []
    for i in range(3):
        for light in LIGHTS:
            path = tmp_path / f"v{i}-{light}.png"
            Image.fromarray(lit(view(i), light)).save(path)
            photos.append(path)
    other_size = tmp_path / "other.png"
    Image.fromarray(lit(view(0, 96, 96), "day")).save(other_size)
    scenes = find_scenes([*photos, other_size])
    assert [[f.name for f in s.frames] for s in scenes] == [
        [f"v{i}-{light}.png" for light in sorted(LIGHTS)] for i in range(3)
    ]


def test_spread_frames_keeps_the_darkest_and_brightest():
    frames = [Path(f"f{i}.png") for i in range(7)]
    brightness = [50, 10, 200, 90, 120, 30, 160]
    assert spread_frames(frames, brightness, 3) == [Path("f1.png"), Path("f3.png"), Path("f2.png")]
    assert spread_frames(frames[:2], brightness[:2], 4) == [Path("f1.png"), Path("f0.png")]
    with pytest.raises(ValueError):
        spread_frames(frames, brightness, 1)
