"""Expanding input specs and naming outputs, on real folder trees in tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hidt_cli.io.paths import (
    IMAGE_SUFFIXES,
    InputItem,
    expand_inputs,
    find_collisions,
    find_input_overwrites,
    output_path,
)


def touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    touch(
        root,
        "b.PNG",
        "a.jpg",
        "notes.txt",
        ".hidden.jpg",
        ".a.jpg.1f2e3d4c5b6a.tmp",
        "sub/c.jpg",
        "sub/deeper/d.webp",
        ".git/e.jpg",
    )
    return root


def relatives(items: list[InputItem]) -> list[str]:
    return [item.relative.as_posix() for item in items]


def test_suffixes_cover_the_readable_formats() -> None:
    assert {
        *(".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".heic", ".heif"),
        *(".avif", ".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2", ".pef"),
    } == IMAGE_SUFFIXES


def test_folder_gives_its_images_sorted_skipping_hidden_and_temp_files(photos: Path) -> None:
    items, problems = expand_inputs([str(photos)])
    assert problems == []
    assert relatives(items) == ["a.jpg", "b.PNG"]
    assert items[0].path == photos / "a.jpg"


def test_recursive_folder_keeps_the_layout(photos: Path) -> None:
    items, problems = expand_inputs([str(photos)], recursive=True)
    assert problems == []
    assert relatives(items) == ["a.jpg", "b.PNG", "sub/c.jpg", "sub/deeper/d.webp"]
    assert items[3].path == photos / "sub" / "deeper" / "d.webp"


def test_file_is_taken_whatever_its_suffix(photos: Path) -> None:
    items, problems = expand_inputs([str(photos / "notes.txt")])
    assert problems == []
    assert items == [InputItem(photos / "notes.txt", Path("notes.txt"))]


def test_specs_keep_their_order_and_duplicates_are_dropped(photos: Path) -> None:
    (photos / "link.jpg").symlink_to(photos / "a.jpg")
    specs = [
        str(photos / "b.PNG"),
        str(photos),
        str(photos / "link.jpg"),
        str(photos / "sub" / ".." / "a.jpg"),
    ]
    items, problems = expand_inputs(specs)
    assert problems == []
    assert [item.path.name for item in items] == ["b.PNG", "a.jpg"]


def test_stdin(photos: Path) -> None:
    items, problems = expand_inputs(["-", str(photos / "a.jpg"), "-"])
    assert problems == []
    assert items[0] == InputItem(Path("-"), Path("-")) and items[0].is_stdin
    assert len(items) == 2 and not items[1].is_stdin


def test_glob(photos: Path) -> None:
    items, problems = expand_inputs([str(photos / "*.jpg")])
    assert problems == []
    assert relatives(items) == ["a.jpg"]  # the hidden .hidden.jpg is not matched


def test_glob_in_folder_components(photos: Path) -> None:
    items, _ = expand_inputs([str(photos / "s?b" / "*")])
    assert relatives(items) == ["sub/c.jpg"]


def test_double_star_needs_recursive(photos: Path) -> None:
    pattern = str(photos / "**" / "*.jpg")
    flat, _ = expand_inputs([pattern])
    deep, problems = expand_inputs([pattern], recursive=True)
    assert relatives(flat) == ["sub/c.jpg"]  # '**' is a plain '*' then
    assert relatives(deep) == ["a.jpg", "sub/c.jpg"]  # zero or more folders
    assert problems == []


def test_relative_glob_from_the_working_folder(
    photos: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(photos)
    items, _ = expand_inputs(["*.[jp][pn]g", "sub/*.jpg"])
    assert [item.path for item in items] == [
        Path("a.jpg"),
        Path("sub/c.jpg"),
    ]  # case-sensitive, like a shell
    assert relatives(items) == ["a.jpg", "c.jpg"]


def test_problem_lines(tmp_path: Path, photos: Path) -> None:
    (tmp_path / "empty").mkdir()
    specs = [
        str(tmp_path / "missing.jpg"),
        str(photos / "*.gif"),
        str(tmp_path / "nowhere" / "*.jpg"),
        str(tmp_path / "empty"),
        str(photos / "a.jpg"),
    ]
    items, problems = expand_inputs(specs)
    assert relatives(items) == ["a.jpg"]
    assert problems == [
        f"{tmp_path / 'missing.jpg'}: no such file or directory",
        f"{photos / '*.gif'}: no files match",
        f"{tmp_path / 'nowhere' / '*.jpg'}: no files match",
        f"{tmp_path / 'empty'}: no image files found",
    ]


def test_literal_name_with_glob_characters(tmp_path: Path) -> None:
    touch(tmp_path, "shot[1].jpg")
    items, problems = expand_inputs([str(tmp_path / "shot[1].jpg")])
    assert problems == [] and relatives(items) == ["shot[1].jpg"]


def test_symlink_loops_end_and_real_paths_win(photos: Path) -> None:
    (photos / "sub" / "up").symlink_to(photos)
    (photos / "sub" / "again").symlink_to(photos / "sub")
    (photos / "alias").symlink_to(photos / "sub")
    (photos / "zz_alias").symlink_to(photos / "sub")  # walked before 'sub' by a plain LIFO walk
    images = ["a.jpg", "b.PNG", "sub/c.jpg", "sub/deeper/d.webp"]
    items, problems = expand_inputs([str(photos)], recursive=True)
    assert (relatives(items), problems) == (images, [])
    items, problems = expand_inputs([str(photos / "**" / "*")], recursive=True)
    assert (relatives(items), problems) == (sorted([*images, "notes.txt"]), [])


def test_unreadable_folder_is_reported_and_the_rest_kept(photos: Path) -> None:
    locked = photos / "sub" / "deeper"
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            pytest.skip("permission bits are not enforced for this user (root?)")
        items, problems = expand_inputs([str(photos)], recursive=True)
        assert relatives(items) == ["a.jpg", "b.PNG", "sub/c.jpg"]
        assert problems == [f"{locked}: cannot list folder (permission denied)"]
    finally:
        locked.chmod(0o755)


def test_unreadable_folder_simulated(photos: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same path as above, for users (root) that the permission bits do not stop."""
    locked = photos / "sub" / "deeper"
    real_scandir = os.scandir

    def scandir(folder: Path):
        if Path(folder) == locked:
            raise PermissionError(13, "Permission denied")
        return real_scandir(folder)

    monkeypatch.setattr(os, "scandir", scandir)
    items, problems = expand_inputs([str(photos)], recursive=True)
    assert relatives(items) == ["a.jpg", "b.PNG", "sub/c.jpg"]
    assert problems == [f"{locked}: cannot list folder (permission denied)"]


# --- output naming -------------------------------------------------------------------------------


def item(path: Path, relative: str | None = None) -> InputItem:
    return InputItem(path, Path(relative or path.name))


def test_output_next_to_the_input_keeps_a_writable_suffix(tmp_path: Path) -> None:
    source = item(tmp_path / "IMG_1.JPG")
    assert (
        output_path(source, output=None, output_dir=None, suffix="_night", fmt=None)
        == tmp_path / "IMG_1_night.JPG"
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.bmp", "a_n.png"),
        ("a.gif", "a_n.png"),
        ("a.tiff", "a_n.tiff"),
        ("a.webp", "a_n.webp"),
        ("a.HEIC", "a_n.HEIC"),
        ("a.avif", "a_n.avif"),
        ("a.NEF", "a_n.tif"),
        ("a.dng", "a_n.tif"),
    ],
)
def test_output_suffix_for_other_inputs(tmp_path: Path, name: str, expected: str) -> None:
    assert (
        output_path(item(tmp_path / name), output=None, output_dir=None, suffix="_n", fmt=None).name
        == expected
    )


def test_output_format_wins(tmp_path: Path) -> None:
    result = output_path(
        item(tmp_path / "a.jpg"), output=None, output_dir=None, suffix="", fmt="png"
    )
    assert result == tmp_path / "a.png"


def test_output_dir_keeps_the_relative_layout(tmp_path: Path) -> None:
    source = item(tmp_path / "photos" / "sub" / "c.jpg", "sub/c.jpg")
    result = output_path(
        source, output=None, output_dir=tmp_path / "out", suffix="_day", fmt="webp"
    )
    assert result == tmp_path / "out" / "sub" / "c_day.webp"


def test_explicit_output_wins(tmp_path: Path) -> None:
    result = output_path(
        item(tmp_path / "a.jpg"),
        output=tmp_path / "x.png",
        output_dir=tmp_path / "o",
        suffix="_n",
        fmt="jpg",
    )
    assert result == tmp_path / "x.png"


def test_stdin_needs_an_explicit_output(tmp_path: Path) -> None:
    stdin = InputItem(Path("-"), Path("-"))
    with pytest.raises(ValueError, match="stdin"):
        output_path(stdin, output=None, output_dir=tmp_path, suffix="_n", fmt="png")
    assert (
        output_path(stdin, output=tmp_path / "x.png", output_dir=None, suffix="", fmt=None)
        == tmp_path / "x.png"
    )


def test_never_names_the_input_itself(tmp_path: Path) -> None:
    touch(tmp_path, "a.jpg")
    (tmp_path / "alias.jpg").symlink_to(tmp_path / "a.jpg")
    os.link(tmp_path / "a.jpg", tmp_path / "hard.jpg")
    source = item(tmp_path / "a.jpg")
    with pytest.raises(ValueError, match=r"a\.jpg: output would overwrite the input$"):
        output_path(source, output=None, output_dir=None, suffix="", fmt=None)
    with pytest.raises(ValueError, match="would overwrite the input"):
        output_path(source, output=None, output_dir=tmp_path / "sub" / "..", suffix="", fmt="jpg")
    for other in ["alias.jpg", "hard.jpg"]:
        with pytest.raises(ValueError, match="would overwrite the input"):
            output_path(source, output=tmp_path / other, output_dir=None, suffix="", fmt=None)


def test_collisions(tmp_path: Path) -> None:
    a_jpg, a_png, b_jpg = (
        item(tmp_path / "a.jpg"),
        item(tmp_path / "a.png"),
        item(tmp_path / "b.jpg"),
    )
    out = tmp_path / "out"
    pairs = [
        (x, output_path(x, output=None, output_dir=out, suffix="", fmt="png"))
        for x in (a_jpg, a_png, b_jpg)
    ]
    assert find_collisions(pairs) == {out / "a.png": [a_jpg, a_png]}
    assert find_collisions(pairs[1:]) == {}


def test_input_overwrites(tmp_path: Path) -> None:
    first, earlier_result = item(tmp_path / "a.jpg"), item(tmp_path / "a_night.jpg")
    pairs = [
        (x, output_path(x, output=None, output_dir=None, suffix="_night", fmt=None))
        for x in (first, earlier_result)
    ]
    assert find_input_overwrites(pairs) == [(first, tmp_path / "a_night.jpg")]
