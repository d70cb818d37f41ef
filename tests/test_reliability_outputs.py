"""Where outputs go and what happens when they cannot be written: collisions, reruns over a
folder that holds earlier outputs, read-only folders, a full disk, and failing guide videos or
video writers. Errors are one line with a documented exit code, nothing the user did not ask
to overwrite is overwritten, and no temporary or partial file is left."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from hidt_cli.io import video
from hidt_cli.io.video import FALLBACK_FPS, VideoWriter, probe_video
from tests.conftest import hidt_process_command, run_hidt
from tests.images import make_photo, save_photo


def files(folder: Path) -> list[str]:
    """Every file below folder, hidden ones (temporary outputs) included."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def one_error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("hidt: error")]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


# --- names ---------------------------------------------------------------------------------


def test_same_stem_in_one_folder_is_refused_before_any_work(tiny_weights, tmp_path):
    save_photo(tmp_path / "in" / "a.jpg")
    save_photo(tmp_path / "in" / "a.png", make_photo(seed=1))
    result = run_hidt("translate", tiny_weights, tmp_path / "in", "--preset", "day", "-f", "png")
    assert result.exit_code == 2
    assert one_error_line(result) == (
        f"hidt: error: {tmp_path / 'in' / 'a_day.png'}: several inputs would write this output "
        f"({tmp_path / 'in' / 'a.jpg'}, {tmp_path / 'in' / 'a.png'}); use --output-dir or --suffix"
    )
    assert files(tmp_path / "in") == ["a.jpg", "a.png"]


@pytest.mark.parametrize("spec", ["{src}", "{src}/**/*.png"])
def test_output_folder_inside_the_inputs_is_not_read_as_input(tiny_weights, tmp_path, spec):
    src = tmp_path / "in"
    save_photo(src / "a.png")
    save_photo(src / "sub" / "b.png", make_photo(seed=1))
    out = src / "results"
    args = [spec.format(src=src), "-r", "--output-dir", out]
    first = run_hidt("translate", tiny_weights, *args, "--preset", "night")
    assert first.exit_code == 0 and "2 converted" in first.stderr, first.output
    again = run_hidt("translate", tiny_weights, *args, "--preset", "night")
    assert again.exit_code == 0 and "0 converted, 2 skipped" in again.stderr, again.output
    other = run_hidt("translate", tiny_weights, *args, "--preset", "day")
    assert other.exit_code == 0 and "2 converted" in other.stderr, other.output
    assert files(src) == [
        "a.png",
        "results/a_day.png",
        "results/a_night.png",
        "results/sub/b_day.png",
        "results/sub/b_night.png",
        "sub/b.png",
    ]


def test_an_output_folder_given_as_input_is_still_read(tiny_weights, tmp_path):
    folder = tmp_path / "shared"
    save_photo(folder / "a.png")
    result = run_hidt("translate", tiny_weights, folder, "--preset", "day", "--output-dir", folder)
    assert result.exit_code == 0 and files(folder) == ["a.png", "a_day.png"], result.output


def test_rerun_beside_the_inputs_does_not_translate_earlier_outputs(tiny_weights, tmp_path):
    save_photo(tmp_path / "a.png")
    assert run_hidt("translate", tiny_weights, tmp_path, "--preset", "night").exit_code == 0
    note = f"{tmp_path / 'a_night.png'}: not translated: it is an output of hidt"
    again = run_hidt("translate", tiny_weights, tmp_path, "--preset", "night")
    assert again.exit_code == 0 and note in again.stderr, again.output
    assert "0 converted, 1 skipped" in again.stderr
    forced = run_hidt("translate", tiny_weights, tmp_path, "--preset", "night", "--overwrite")
    assert forced.exit_code == 0 and note in forced.stderr, forced.output
    assert "1 converted" in forced.stderr and "failed" not in forced.stderr
    assert files(tmp_path) == ["a.png", "a_night.png"]


# --- write failures ------------------------------------------------------------------------


def deny_writes_in(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """os.open fails in `folder` as it does in a read-only folder for a user other than root."""
    real_open = os.open

    def guarded(path, *args, **kwargs):
        if Path(path).parent == folder:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", guarded)


def test_read_only_output_folder(tiny_weights, tmp_path, monkeypatch):
    save_photo(tmp_path / "in" / "a.png")
    save_photo(tmp_path / "in" / "b.png", make_photo(seed=1))
    out = tmp_path / "out"
    out.mkdir()
    (out / "a_day.png").write_bytes(b"an earlier result")
    deny_writes_in(out, monkeypatch)
    args = (tmp_path / "in", "--preset", "day", "-d", out, "--overwrite", "--quiet")
    result = run_hidt("translate", tiny_weights, *args)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"hidt: error: {out / name}: cannot write: permission denied"
        for name in ("a_day.png", "b_day.png")
    ]
    assert files(out) == ["a_day.png"]
    assert (out / "a_day.png").read_bytes() == b"an earlier result"


def test_read_only_output_folder_with_real_permissions(tiny_weights, tmp_path):
    save_photo(tmp_path / "in" / "a.png")
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o555)
    try:
        if os.access(out, os.W_OK):
            pytest.skip("permission bits are not enforced for this user (root): simulated above")
        result = run_hidt("translate", tiny_weights, tmp_path / "in", "--preset", "day", "-d", out)
        assert result.exit_code == 1
        assert one_error_line(result).endswith(
            f"{out / 'a_day.png'}: cannot write: permission denied"
        )
        assert files(out) == []
    finally:
        out.chmod(0o755)


def test_disk_full_keeps_the_earlier_output_and_leaves_no_temporary_file(
    tiny_weights, tmp_path, monkeypatch
):
    save_photo(tmp_path / "in" / "a.png")
    out = tmp_path / "out"
    out.mkdir()
    (out / "a_day.png").write_bytes(b"an earlier result")

    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full)
    result = run_hidt(
        "translate", tiny_weights, tmp_path / "in", "--preset", "day", "-d", out, "--overwrite"
    )
    monkeypatch.undo()
    assert result.exit_code == 1
    assert one_error_line(result) == (
        f"hidt: error: {out / 'a_day.png'}: cannot write: no space left on device"
    )
    assert files(out) == ["a_day.png"]
    assert (out / "a_day.png").read_bytes() == b"an earlier result"


# --- video ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def guide(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("guide") / "guide.mp4"
    with VideoWriter(path, 12.0, (64, 48)) as writer:
        for level in np.linspace(20, 230, 6).astype(np.uint8):
            writer.write(np.full((48, 64, 3), level, np.uint8))
    return path


def video_info(path: Path) -> tuple[int, float]:
    info = probe_video(path)
    return info.frame_count, info.fps


@pytest.mark.parametrize("kind", ["empty", "corrupt", "cut"])
def test_unreadable_guide_is_one_line_exit_4_and_writes_nothing(
    tiny_weights, photo, guide, tmp_path, kind
):
    bad = tmp_path / "bad" / f"{kind}.mp4"
    bad.parent.mkdir()
    content = {
        "empty": b"",
        "corrupt": np.random.default_rng(0).bytes(5000),
        "cut": guide.read_bytes()[: guide.stat().st_size // 2],
    }[kind]
    bad.write_bytes(content)
    out = tmp_path / "out"
    result = run_hidt(
        "timelapse", tiny_weights, photo, "--guide", bad, "-o", out / "t.mp4", "--quiet"
    )
    assert result.exit_code == 4
    assert one_error_line(result).startswith(f"hidt: error: {bad}: ")
    assert len(result.stderr.splitlines()) == 1  # --quiet: nothing but the error
    assert not out.exists() or files(out) == []


def test_a_corrupt_guide_prints_only_our_line(tiny_weights, photo, tmp_path):
    """FFmpeg logs its own complaints on the process's stderr, which CliRunner cannot see."""
    bad = tmp_path / "corrupt.mp4"
    bad.write_bytes(np.random.default_rng(0).bytes(5000))
    command = hidt_process_command("timelapse", tiny_weights, photo, "--guide", bad, "--quiet")
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 4
    assert done.stderr.splitlines() == [f"hidt: error: {bad}: cannot open as a video"]


def test_guide_without_frame_rate_falls_back_and_says_so(
    tiny_weights, photo, guide, tmp_path, monkeypatch
):
    monkeypatch.setattr(av.video.stream.VideoStream, "average_rate", None)
    monkeypatch.setattr(av.video.stream.VideoStream, "guessed_rate", None)
    target = tmp_path / "t.mp4"
    result = run_hidt(
        "timelapse", tiny_weights, photo, "--guide", guide, "-o", target, "--stride", 2
    )
    monkeypatch.undo()
    assert result.exit_code == 0, result.output
    assert f"{guide}: the video gives no frame rate; assuming 25 fps (see --fps)" in result.stderr
    assert video_info(target) == (3, pytest.approx(FALLBACK_FPS / 2))


def test_one_frame_guide_gives_a_one_frame_video(tiny_weights, photo, tmp_path):
    single = tmp_path / "single.mp4"
    with VideoWriter(single, 10.0, (64, 48)) as writer:
        writer.write(np.full((48, 64, 3), 90, np.uint8))
    target = tmp_path / "t.mp4"
    result = run_hidt(
        "timelapse", tiny_weights, photo, "--guide", single, "-o", target, "--strip", "--quiet"
    )
    assert result.exit_code == 0, result.output
    assert video_info(target) == (1, pytest.approx(10.0))
    with Image.open(tmp_path / "t_strip.png") as strip:
        strip.load()


def test_video_writer_that_cannot_open_leaves_no_mp4(
    tiny_weights, photo, guide, tmp_path, monkeypatch
):
    real_open = video.av.open

    def refusing(file, mode="r", **options):
        if mode == "w":
            raise PermissionError(errno.EACCES, "Permission denied", file)
        return real_open(file, mode, **options)

    monkeypatch.setattr(video.av, "open", refusing)
    out = tmp_path / "out"
    args = (photo, "--guide", guide, "-o", out / "t.mp4", "--strip", "--quiet")
    result = run_hidt("timelapse", tiny_weights, *args)
    assert result.exit_code == 4
    assert (
        one_error_line(result) == f"hidt: error: {out / 't.mp4'}: cannot write: Permission denied"
    )
    assert files(out) == []


def test_video_writer_that_fails_part_way_leaves_no_mp4(
    tiny_weights, photo, guide, tmp_path, monkeypatch
):
    """The encoder fails after some frames (a full disk): one line, and neither the video nor
    its temporary file is left."""
    real_encode = VideoWriter._encode
    encoded = []

    def full_disk_after_two(writer, frame) -> None:
        if len(encoded) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        encoded.append(frame.pts)
        real_encode(writer, frame)

    monkeypatch.setattr(VideoWriter, "_encode", full_disk_after_two)
    target = tmp_path / "t.mp4"
    result = run_hidt("timelapse", tiny_weights, photo, "--guide", guide, "-o", target, "--quiet")
    assert result.exit_code == 4
    assert one_error_line(result) == (
        f"hidt: error: {target}: cannot write video (No space left on device)"
    )
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".mp4"] == []
