"""The global 3D LUT of a translation: it recovers known colour transforms, leaves the
identity alone, fills colours the photo lacks smoothly and in luminance order, survives the
.cube and Hald CLUT files, agrees with ffmpeg's lut3d, and carries the shipped weights' night
onto the photo."""

from __future__ import annotations

import fractions
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import torch
from PIL import Image

import hidt_cli
from hidt_cli.eval.color import delta_e76
from hidt_cli.io.images import OutputExistsError
from hidt_cli.lut import (
    LutError,
    apply_lut,
    fit_lut,
    identity_lut,
    read_cube,
    read_hald,
    write_cube,
    write_hald,
)
from hidt_cli.ranges import photo_tensor
from tests.images import make_photo

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "lake-sherburne.jpg"
LUMA = np.array([0.2126, 0.7152, 0.0722])


def delta_e(images: np.ndarray, references: np.ndarray) -> float:
    """Mean ΔE*ab between two H×W×3 images (uint8, uint16 or [0, 1] float)."""

    def batch(image: np.ndarray) -> torch.Tensor:
        scale = np.iinfo(image.dtype).max if image.dtype.kind == "u" else 1.0
        return torch.from_numpy(image.astype(np.float64) / scale).permute(2, 0, 1)[None]

    return delta_e76(batch(images), batch(references)).item()


def graded(rgb_01: np.ndarray) -> np.ndarray:
    """A known global look: a gamma, a channel mix and a blue tint (stays within [0, 1])."""
    mix = np.array([[0.80, 0.15, 0.05], [0.10, 0.80, 0.10], [0.05, 0.20, 0.75]])
    return rgb_01**1.4 @ mix.T * 0.85 + np.array([0.02, 0.04, 0.10])


def random_colours(shape: tuple[int, int], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random((*shape, 3))


def to_uint(rgb_01: np.ndarray, dtype: type) -> np.ndarray:
    return np.rint(rgb_01 * np.iinfo(dtype).max).astype(dtype)


@pytest.mark.parametrize(("dtype", "size"), [(np.uint8, 33), (np.uint16, 33), (np.uint8, 17)])
def test_a_known_global_transform_is_recovered(dtype, size):
    photo = to_uint(random_colours((200, 300), seed=0), dtype)
    look = to_uint(graded(photo / np.iinfo(dtype).max), dtype)
    lut = fit_lut(photo, look, size)
    assert lut.shape == (size, size, size, 3) and lut.dtype == np.float32
    applied = apply_lut(lut, photo)
    assert applied.dtype == dtype
    assert delta_e(applied, look) < 0.3
    unseen = random_colours((100, 100), seed=1)  # colours the fit never saw
    assert delta_e(apply_lut(lut, unseen), graded(unseen)) < 0.3


def test_sizes_off_the_power_of_two_lattice_are_resampled():
    photo = to_uint(random_colours((120, 160), seed=2), np.uint8)
    look = to_uint(graded(photo / 255), np.uint8)
    lut = fit_lut(photo, look, 20)
    assert lut.shape == (20, 20, 20, 3)
    assert delta_e(apply_lut(lut, photo), look) < 0.5


def test_identity_pairs_give_the_identity_everywhere_and_the_fit_is_deterministic():
    photo = make_photo(96, 64)  # a gradient and four blocks: most of the cube is empty
    lut = fit_lut(photo, photo)
    assert np.abs(lut - identity_lut(33)).max() <= 0.5 / 255
    assert np.array_equal(lut, fit_lut(photo, photo))


def greens_and_blues(count: int = 50_000) -> np.ndarray:
    """A photo holding only greens, cyans and blues of many brightnesses (no reds, no greys)."""
    rng = np.random.default_rng(3)
    hue, value, saturation = (
        rng.random(count),
        0.2 + 0.7 * rng.random(count),
        0.3 + 0.6 * rng.random(count),
    )
    red = value * (1 - saturation)
    green = value * (1 - saturation * hue)
    blue = value * (1 - saturation * (1 - hue))
    return np.stack([red, green, blue], -1).reshape(200, 250, 3)


def night(rgb_01: np.ndarray) -> np.ndarray:
    return rgb_01**1.8 * np.array([0.35, 0.45, 0.75]) + np.array([0.01, 0.02, 0.06])


def test_colours_the_photo_lacks_are_filled_smoothly_and_in_luminance_order():
    photo = greens_and_blues()
    lut = fit_lut(photo, night(photo))
    size = lut.shape[0]
    luma = lut @ LUMA
    grey = luma[np.arange(size), np.arange(size), np.arange(size)]
    assert np.all(np.diff(grey) >= 0), "a darker grey gives a brighter output"
    curvature = max(np.abs(np.diff(lut, 2, axis=axis)).max() for axis in range(3))
    assert curvature < 0.03, f"second differences up to {curvature:.3f}"
    # Lattice points three or more cells from any of the photo's colours:
    near = np.zeros((size,) * 3, dtype=bool)
    cells = np.rint(photo.reshape(-1, 3) * (size - 1)).astype(int)
    near[cells[:, 0], cells[:, 1], cells[:, 2]] = True
    for axis in range(3):
        for shift in (-1, 1):
            for _ in range(3):
                near |= np.roll(near, shift, axis=axis)
    for axis in range(3):
        far_steps = ~near & np.roll(~near, -1, axis=axis)
        steps = np.diff(luma, axis=axis, append=np.inf)
        assert steps[far_steps].min() >= -0.5 / 255, f"luminance falls along axis {axis}"
    # The cube's corners, all outside the photo's colours, land near the look (left
    # unchanged they would be up to 78 ΔE away from it, 54 on average).
    corners = identity_lut(2).reshape(-1, 1, 1, 3)
    extrapolated = lut[np.ix_(*[[0, size - 1]] * 3)].reshape(-1, 1, 1, 3)
    errors = [
        delta_e(mine, truth) for mine, truth in zip(extrapolated, night(corners), strict=True)
    ]
    assert max(errors) < 25 and np.mean(errors) < 12, errors


def test_the_grey_axis_is_kept_monotone_even_against_the_data():
    greys = np.repeat(np.linspace(0.05, 0.95, 200)[:, None, None], 3, axis=2)
    photo = np.repeat(greys, 20, axis=1)
    inverted = 1 - photo  # brighter greys get darker outputs
    lut = fit_lut(photo, inverted, 17)
    grey = (lut @ LUMA)[np.arange(17), np.arange(17), np.arange(17)]
    assert np.all(np.diff(grey) >= 0)
    assert np.all((lut >= 0) & (lut <= 1))


def test_apply_keeps_dtype_and_range_and_checks_shapes():
    identity = identity_lut(9)
    photo8 = make_photo(40, 30)
    assert np.array_equal(apply_lut(identity, photo8), photo8)
    photo16 = photo8.astype(np.uint16) * 257 + 3
    assert np.abs(apply_lut(identity, photo16).astype(int) - photo16).max() <= 1
    assert apply_lut(identity, photo16).dtype == np.uint16
    floats = photo8.astype(np.float32) / 255
    assert np.allclose(apply_lut(identity, floats), floats, atol=1e-6)
    with pytest.raises(ValueError, match="H×W×3"):
        apply_lut(identity, photo8[..., 0])
    with pytest.raises(ValueError, match="N×N×N×3"):
        apply_lut(identity[:, :4], photo8)


def smooth_lut(size: int) -> np.ndarray:
    return graded(identity_lut(size).astype(np.float64)).astype(np.float32)


def test_cube_round_trip_and_layout(tmp_path):
    lut = smooth_lut(17)
    path = tmp_path / "look.cube"
    write_cube(path, lut, title="night look")
    lines = path.read_text().splitlines()
    assert lines[:4] == [
        'TITLE "night look"',
        "LUT_3D_SIZE 17",
        "DOMAIN_MIN 0.0 0.0 0.0",
        "DOMAIN_MAX 1.0 1.0 1.0",
    ]
    assert len(lines) == 4 + 17**3
    second = [float(v) for v in lines[5].split()]  # red changes fastest
    assert second == pytest.approx(lut[1, 0, 0].tolist(), abs=1e-6)
    assert np.abs(read_cube(path) - lut).max() <= 1e-6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["look.cube"]


def test_writers_refuse_to_overwrite_unless_asked(tmp_path):
    path = tmp_path / "look.cube"
    write_cube(path, identity_lut(2))
    with pytest.raises(OutputExistsError, match="exists"):
        write_cube(path, smooth_lut(5))
    write_cube(path, smooth_lut(5), overwrite=True)
    assert read_cube(path).shape == (5, 5, 5, 3)
    hald = tmp_path / "look.png"
    write_hald(hald, identity_lut(4), level=2)
    with pytest.raises(OutputExistsError):
        write_hald(hald, identity_lut(4), level=2)


def test_hald_identity_layout_and_round_trips(tmp_path):
    path = tmp_path / "identity.png"
    write_hald(path, identity_lut(16), level=4)
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[..., ::-1]
    assert image.shape == (64, 64, 3) and image.dtype == np.uint16
    index = np.arange(64 * 64).reshape(64, 64)  # pixel i holds (i mod 16, i/16 mod 16, i/256)
    expected = np.stack([index % 16, index // 16 % 16, index // 256], -1) * 65535 / 15
    assert np.abs(image - expected).max() <= 0.5
    lut = smooth_lut(16)
    write_hald(path, lut, level=4, overwrite=True)
    assert np.abs(read_hald(path) - lut).max() <= 1 / 65535
    write_hald(path, smooth_lut(33), overwrite=True)  # level 8: a 512×512 image of a 64³ cube
    resampled = read_hald(path)
    assert resampled.shape == (64, 64, 64, 3)
    photo = to_uint(random_colours((60, 80), seed=4), np.uint8)
    difference = apply_lut(resampled, photo).astype(int) - apply_lut(smooth_lut(33), photo)
    assert np.abs(difference).max() <= 1


def test_an_eight_bit_hald_from_another_tool_is_read(tmp_path):
    colours = np.rint(smooth_lut(4).transpose(2, 1, 0, 3).reshape(8, 8, 3) * 255)
    path = tmp_path / "hald2.png"
    Image.fromarray(colours.astype(np.uint8)).save(path)
    assert np.abs(read_hald(path) - smooth_lut(4)).max() <= 0.5 / 255


HEADER = "LUT_3D_SIZE 2\n"
EIGHT = "0 0 0\n" * 8


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (HEADER + "0 0 0\n" * 7, "holds 7 entries, LUT_3D_SIZE 2 needs 8"),
        ("0 0 0\n" * 8, "no LUT_3D_SIZE"),
        ("LUT_1D_SIZE 4\n" + "0 0 0\n" * 4, "1D LUT"),
        (HEADER + "0 0 zero\n" + "0 0 0\n" * 7, "line 2: expected three numbers"),
        (HEADER + "0 0\n" + "0 0 0\n" * 7, "line 2: expected three numbers"),
        ("LUT_3D_SIZE 1\n0 0 0\n", "LUT_3D_SIZE must be"),
        ("DOMAIN_MAX 1 1 2\n" + HEADER + EIGHT, "DOMAIN_MIN/DOMAIN_MAX other than 0 and 1"),
        (HEADER + "nan 0 0\n" + "0 0 0\n" * 7, "not finite"),
        ("\x89PNG\r\n\x1a\n\x00\x00garbage", "not a 3D .cube LUT"),
    ],
)
def test_a_bad_cube_is_one_line_naming_the_file(tmp_path, text, reason):
    path = tmp_path / "bad.cube"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(LutError, match=reason) as caught:
        read_cube(path)
    assert str(caught.value).startswith(f"{path}: ") and "\n" not in str(caught.value)


def test_cubes_from_editors_are_read(tmp_path):
    text = (
        '# Created by an editor\nTITLE "warm"\n\nLUT_3D_SIZE 2\nLUT_3D_INPUT_RANGE 0.0 1.0\n'
        + "".join(f"{r} {g} {b}  # corner\n" for b in (0, 1) for g in (0, 1) for r in (0, 1))
    )
    path = tmp_path / "warm.cube"
    path.write_text(text)
    assert np.array_equal(read_cube(path), identity_lut(2))


def test_missing_and_undecodable_files(tmp_path):
    with pytest.raises(LutError, match="no such file"):
        read_cube(tmp_path / "none.cube")
    with pytest.raises(LutError, match="is a directory"):
        read_cube(tmp_path)
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(LutError, match="not an image"):
        read_hald(tmp_path / "text.png")
    Image.fromarray(np.zeros((10, 12, 3), np.uint8)).save(tmp_path / "odd.png")
    with pytest.raises(LutError, match="12×10 is not a Hald CLUT"):
        read_hald(tmp_path / "odd.png")


def ffmpeg_lut3d(cube: Path, rgb: np.ndarray) -> np.ndarray:
    """The frame through FFmpeg's lut3d filter (trilinear), via PyAV's filter graph."""
    graph = av.filter.Graph()
    height, width = rgb.shape[:2]
    source = graph.add_buffer(
        width=width, height=height, format="rgb24", time_base=fractions.Fraction(1, 25)
    )
    lut3d = graph.add("lut3d", f"file={cube}:interp=trilinear")
    sink = graph.add("buffersink")
    source.link_to(lut3d)
    lut3d.link_to(sink)
    graph.configure()
    graph.push(av.VideoFrame.from_ndarray(rgb, format="rgb24"))
    return graph.pull().to_ndarray(format="rgb24")


def test_ffmpeg_lut3d_gives_what_apply_lut_gives(tmp_path):
    photo = to_uint(random_colours((64, 96), seed=5), np.uint8)
    lut = fit_lut(photo, to_uint(night(photo / 255), np.uint8))
    cube = tmp_path / "night.cube"
    write_cube(cube, lut)
    theirs = ffmpeg_lut3d(cube, photo).astype(int)
    ours = apply_lut(lut, photo)
    assert np.abs(theirs - ours).max() <= 1
    assert np.abs(theirs - photo).mean() > 20  # the look did change the frame


@pytest.fixture(scope="module")
def shipped(default_model) -> tuple[hidt_cli.HiDT, np.ndarray, torch.Tensor]:
    """The shipped default weights and the shipped example photo at 768×432."""
    model = default_model
    photo = Image.open(EXAMPLE).convert("RGB").resize((768, 432), Image.Resampling.LANCZOS)
    rgb = np.asarray(photo)
    return model, rgb, photo_tensor(rgb, model.device)


def render(model: hidt_cli.HiDT, photos: torch.Tensor, codes: torch.Tensor) -> np.ndarray:
    return next(model.render(photos, codes, hidt_cli.RenderSpec(inference_size=256)))[0]


def test_a_lut_carries_the_shipped_night_onto_the_photo(shipped):
    model, rgb, photos = shipped
    translation = render(model, photos, model.style_code("night"))
    lut = fit_lut(rgb, translation)
    assert delta_e(rgb, translation) > 25  # night is far from the day photo
    assert delta_e(apply_lut(lut, rgb), translation) < 2.0


def test_a_lut_of_the_photos_own_style_stays_near_the_identity(shipped):
    model, rgb, photos = shipped
    own = render(model, photos, model.styles_of_images(photos.float(), 256))
    lut = fit_lut(rgb, own)
    night = fit_lut(rgb, render(model, photos, model.style_code("night")))
    change = delta_e(apply_lut(lut, rgb), rgb)
    # The LUT changes the photo no more than the reconstruction itself does (the shipped
    # compact weights lose some colour), and far less than a look does.
    assert change <= delta_e(own, rgb) + 0.5
    assert change < delta_e(apply_lut(night, rgb), rgb) / 3
