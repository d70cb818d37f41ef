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
    walk_files,
)
from tests.conftest import touch


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


# --- hostile link structures: each bad entry is one problem line, the rest is walked -------------


@pytest.fixture
def linked(tmp_path: Path) -> Path:
    """A folder with one good photo and a sub-folder holding another."""
    root = tmp_path / "L"
    touch(root, "p.jpg", "sub/q.jpg")
    return root


def walked(specs: list[str], recursive: bool = True) -> tuple[list[str], list[str]]:
    items, problems = expand_inputs(specs, recursive=recursive)
    return relatives(items), problems


def test_a_cycle_between_two_file_links_is_named_and_the_batch_kept(linked: Path) -> None:
    (linked / "b2").symlink_to("a2")
    (linked / "a2").symlink_to("b2")
    expected = [f"{linked / 'a2'}: symbolic link loop", f"{linked / 'b2'}: symbolic link loop"]
    assert walked([str(linked)]) == (["p.jpg", "sub/q.jpg"], expected)
    assert walked([str(linked)], recursive=False) == (["p.jpg"], expected)
    assert walked([str(linked / "*")], recursive=False) == (["p.jpg"], expected)
    assert walked([str(linked / "a2")]) == ([], [f"{linked / 'a2'}: symbolic link loop"])


def test_a_link_to_itself(linked: Path) -> None:
    (linked / "x").symlink_to("x")
    (linked / "self.jpg").symlink_to(linked / "self.jpg")
    assert walked([str(linked)]) == (
        ["p.jpg", "sub/q.jpg"],
        [f"{linked / 'self.jpg'}: symbolic link loop", f"{linked / 'x'}: symbolic link loop"],
    )
    assert walked([str(linked / "*.jpg")]) == (
        ["p.jpg"],
        [f"{linked / 'self.jpg'}: symbolic link loop"],  # 'x' is no match of '*.jpg'
    )


def test_a_cycle_between_folder_links_ends(linked: Path) -> None:
    (linked / "one").symlink_to("two")
    (linked / "two").symlink_to("one")
    (linked / "sub" / "ring").symlink_to(linked / "ring2")
    (linked / "ring2").symlink_to(linked / "sub")  # a real cycle: sub/ring → ring2 → sub
    items, problems = walked([str(linked)])
    assert items == ["p.jpg", "sub/q.jpg"]
    assert problems == [
        f"{linked / 'one'}: symbolic link loop",
        f"{linked / 'two'}: symbolic link loop",
    ]


def test_links_to_a_folder_above_end(linked: Path) -> None:
    (linked / "sub" / "up").symlink_to("..")
    (linked / "sub" / "top").symlink_to(linked.parent)  # above the walked root
    assert walked([str(linked)]) == (["p.jpg", "sub/q.jpg"], [])
    assert walked([str(linked / "**" / "*.jpg")]) == (["p.jpg", "sub/q.jpg"], [])


def test_dangling_links_are_named(linked: Path) -> None:
    (linked / "gone.jpg").symlink_to(linked / "deleted.jpg")
    (linked / "sub" / "old").symlink_to("/nonexistent/folder")
    assert walked([str(linked)]) == (
        ["p.jpg", "sub/q.jpg"],
        [
            f"{linked / 'gone.jpg'}: broken symbolic link",
            f"{linked / 'sub' / 'old'}: broken symbolic link",
        ],
    )
    assert walked([str(linked / "gone.jpg")]) == (
        [],
        [f"{linked / 'gone.jpg'}: broken symbolic link"],
    )


def test_a_link_chain_through_a_glob(linked: Path) -> None:
    """Links to links to a folder are followed wherever the pattern passes through them."""
    (linked / "hop3").symlink_to(linked / "sub")
    (linked / "hop2").symlink_to("hop3")
    (linked / "hop1").symlink_to("hop2")
    (linked / "photo.jpg").symlink_to("hop1/q.jpg")  # a file through the chain
    (linked / "hopx").symlink_to("hopy")
    (linked / "hopy").symlink_to("hopx")
    items, problems = walked([str(linked / "hop*" / "*.jpg")], recursive=False)
    assert items == ["hop1/q.jpg"]  # the one real folder, by the first name it was reached by
    assert problems == [
        f"{linked / 'hopx'}: symbolic link loop",
        f"{linked / 'hopy'}: symbolic link loop",
    ]
    assert walked([str(linked / "*.jpg")], recursive=False) == (["p.jpg", "photo.jpg"], [])
    items, _ = walked([str(linked)])
    assert items == ["p.jpg", "photo.jpg"]  # sub/q.jpg is photo.jpg, found first


def test_a_link_chain_longer_than_the_system_follows_is_a_problem(linked: Path) -> None:
    for hop in range(60):
        (linked / f"c{hop}").symlink_to(f"c{hop + 1}" if hop < 59 else "p.jpg")
    items, problems = walked([str(linked / "c0")])
    assert items == [] and problems == [f"{linked / 'c0'}: symbolic link loop"]
    items, problems = walked([str(linked / "c59")])
    assert (items, problems) == (["c59"], [])


def test_special_files_are_named_not_read(linked: Path) -> None:
    """A named pipe in a folder would block a read for ever; one named directly is taken
    (a shell's <(...) is one)."""
    os.mkfifo(linked / "pipe.jpg")
    if Path("/dev/null").exists():
        (linked / "null.jpg").symlink_to("/dev/null")
    items, problems = walked([str(linked)], recursive=False)
    assert items == ["p.jpg"]
    assert f"{linked / 'pipe.jpg'}: not a regular file (a named pipe)" in problems
    if Path("/dev/null").exists():
        assert f"{linked / 'null.jpg'}: not a regular file (a device)" in problems
    assert walked([str(linked / "pipe.jpg")]) == (["pipe.jpg"], [])


def test_deep_nesting(linked: Path) -> None:
    deep = linked.joinpath(*["d"] * 300)
    touch(deep, "bottom.jpg")
    items, problems = walked([str(linked)])
    assert problems == []
    assert items == ["/".join(["d"] * 300) + "/bottom.jpg", "p.jpg", "sub/q.jpg"]


def test_a_tree_deeper_than_a_path_can_name_is_a_problem_not_a_crash(linked: Path) -> None:
    name = "n" * 200
    fd = os.open(linked, os.O_RDONLY)
    try:
        for _ in range(30):  # 6000 characters, beyond PATH_MAX
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
    finally:
        os.close(fd)
    items, problems = walked([str(linked)])
    assert items == ["p.jpg", "sub/q.jpg"]
    assert len(problems) == 1 and "file name too long" in problems[0]


def test_walk_files_names_bad_entries_for_every_caller(linked: Path) -> None:
    (linked / "a2").symlink_to("b2")
    (linked / "b2").symlink_to("a2")
    problems: list[str] = []
    files = sorted(walk_files(linked, problems))
    assert files == [linked / "p.jpg", linked / "sub" / "q.jpg"]
    assert problems == [
        f"{linked / 'a2'}: symbolic link loop",
        f"{linked / 'b2'}: symbolic link loop",
    ]


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
