"""Publishing finished outputs: never over a file that appeared meanwhile unless overwriting
was asked for, by each of the three ways (hard link, renameat2, check and rename), and
through the image and video writers when two runs race for one name."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from hidt_cli.io import images
from hidt_cli.io import publish as publishing
from hidt_cli.io import write as writing
from hidt_cli.io.errors import OutputExistsError
from hidt_cli.io.images import ImageError, read_image, write_image
from hidt_cli.io.publish import publish
from hidt_cli.io.video import VideoError, VideoExistsError, VideoWriter, read_frames


def no_hard_links(*_: object) -> None:
    raise OSError(errno.EPERM, "Operation not permitted")


@pytest.fixture(params=["hard link", "renameat2", "check and rename"])
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each way publish can take, as a filesystem without hard links (or without renameat2)
    would make it."""
    if request.param != "hard link":
        monkeypatch.setattr(os, "link", no_hard_links)
    if request.param == "renameat2" and publishing._renameat2() is None:
        pytest.skip("no renameat2 in this C library")
    if request.param == "check and rename":
        monkeypatch.setattr(publishing, "_renameat2", lambda: None)
    return request.param


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_a_free_name_gets_the_file(tmp_path: Path, way: str) -> None:
    (tmp_path / ".out.tmp").write_bytes(b"new")
    publish(tmp_path / ".out.tmp", tmp_path / "out.png", overwrite=False)
    assert files(tmp_path) == {"out.png": b"new"}


def test_a_taken_name_is_kept_and_said(tmp_path: Path, way: str) -> None:
    (tmp_path / ".out.tmp").write_bytes(b"new")
    (tmp_path / "out.png").write_bytes(b"theirs")
    with pytest.raises(OutputExistsError) as caught:
        publish(tmp_path / ".out.tmp", tmp_path / "out.png", overwrite=False)
    assert str(caught.value) == f"{tmp_path / 'out.png'}: exists (use --overwrite)"
    assert isinstance(caught.value, FileExistsError)
    assert files(tmp_path) == {"out.png": b"theirs", ".out.tmp": b"new"}  # the caller's to remove


def test_a_dangling_link_at_the_name_is_not_followed(tmp_path: Path, way: str) -> None:
    (tmp_path / ".out.tmp").write_bytes(b"new")
    (tmp_path / "out.png").symlink_to(tmp_path / "elsewhere.png")
    with pytest.raises(OutputExistsError):
        publish(tmp_path / ".out.tmp", tmp_path / "out.png", overwrite=False)
    assert not (tmp_path / "elsewhere.png").exists()


def test_overwrite_replaces(tmp_path: Path) -> None:
    (tmp_path / ".out.tmp").write_bytes(b"new")
    (tmp_path / "out.png").write_bytes(b"old")
    publish(tmp_path / ".out.tmp", tmp_path / "out.png", overwrite=True)
    assert files(tmp_path) == {"out.png": b"new"}


def test_the_callers_error_kind_is_raised(tmp_path: Path) -> None:
    (tmp_path / ".out.tmp").write_bytes(b"new")
    (tmp_path / "out.mp4").write_bytes(b"theirs")
    with pytest.raises(VideoExistsError) as caught:
        publish(tmp_path / ".out.tmp", tmp_path / "out.mp4", False, VideoExistsError)
    assert isinstance(caught.value, VideoError) and isinstance(caught.value, OutputExistsError)


def test_other_failures_are_os_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        publish(tmp_path / ".gone.tmp", tmp_path / "out.png", overwrite=False)


# --- two runs for one name ---------------------------------------------------------------------


def picture(value: int) -> np.ndarray:
    return np.full((8, 8, 3), value, dtype=np.uint8)


def test_an_image_finished_meanwhile_by_another_run_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, way: str
) -> None:
    """The other run finishes after this one checked the name and before it publishes."""
    target = tmp_path / "out.png"
    encode = writing.encode_image

    def encode_while_another_run_finishes(*args, **kwargs):
        target.write_bytes(encode(picture(200)))
        return encode(*args, **kwargs)

    monkeypatch.setattr(writing, "encode_image", encode_while_another_run_finishes)
    with pytest.raises(images.OutputExistsError) as caught:
        write_image(target, picture(10))
    assert isinstance(caught.value, ImageError) and isinstance(caught.value, OutputExistsError)
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]  # no temporary file left
    assert read_image(target).rgb.max() == 200


def test_racing_image_writers_one_wins(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    start = threading.Barrier(8)
    outcomes: dict[int, str] = {}

    def run(value: int) -> None:
        start.wait()
        try:
            write_image(target, picture(value))
            outcomes[value] = "written"
        except OutputExistsError:
            outcomes[value] = "exists"

    threads = [threading.Thread(target=run, args=(value,)) for value in range(10, 90, 10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [value for value, how in outcomes.items() if how == "written"]
    assert len(winners) == 1 and len(outcomes) == 8
    assert read_image(target).rgb.max() == winners[0]
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_overwrite_replaces_what_another_run_wrote(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    write_image(target, picture(200))
    write_image(target, picture(10), overwrite=True)
    assert read_image(target).rgb.max() == 10
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def clip_writer(target: Path, value: int, overwrite: bool = False) -> VideoWriter:
    writer = VideoWriter(target, 10.0, (16, 16), overwrite=overwrite, background=False)
    for _ in range(3):
        writer.write(np.full((16, 16, 3), value, dtype=np.uint8))
    return writer


def test_the_second_video_to_finish_does_not_replace_the_first(tmp_path: Path, way: str) -> None:
    target = tmp_path / "out.mp4"
    first, second = clip_writer(target, 40), clip_writer(target, 220)  # both found it free
    second.close()
    with pytest.raises(VideoExistsError, match=r"exists \(use --overwrite\)$"):
        first.close()
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]
    assert next(read_frames(target)).mean() > 200


def test_a_video_with_overwrite_replaces_one_finished_meanwhile(tmp_path: Path) -> None:
    target = tmp_path / "out.mp4"
    first, second = clip_writer(target, 40, overwrite=True), clip_writer(target, 220)
    second.close()
    first.close()
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]
    assert next(read_frames(target)).mean() < 60
