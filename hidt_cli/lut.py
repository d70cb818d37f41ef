"""A global 3D colour LUT of a translation, so that a look made here can be graded in other
editors: fitted on a photo and its translation, applied by trilinear interpolation, written
as an Adobe/Resolve `.cube` (Resolve, Premiere, Photoshop, ffmpeg's lut3d) or as a Hald CLUT
image (ImageMagick's -hald-clut, darktable, G'MIC).

A LUT is an N×N×N×3 float32 array: `lut[r, g, b]` is the output colour, in [0, 1], of the
input colour (r, g, b) / (N − 1). Images are H×W×3 arrays: uint8, uint16, or float in [0, 1].
"""

from __future__ import annotations

import functools
import io
import math
import os
from pathlib import Path

import cv2
import numpy as np
import torch

from hidt_cli.io.errors import PathError
from hidt_cli.io.images import OutputExistsError
from hidt_cli.io.write import write_atomic

DEFAULT_SIZE = 33
MAX_FIT_SIZE = 65  # Resolve's largest; a 65³ fit takes about ten times a 33³ one
DEFAULT_HALD_LEVEL = 8  # a 512×512 image of a 64³ cube, ImageMagick's and darktable's usual
FIT_PIXELS = 1_000_000
"""Photos are sampled on a regular grid down to about this many pixel pairs: more adds
nothing to a global fit of at most MAX_FIT_SIZE³ points, and it keeps a 12-MP fit within seconds."""

SMOOTHNESS = 1e-6
"""Weight of the second-difference (thin-plate) energy, ∫|Hessian|², against the mean squared
error over the pixels: big enough that colours the photo lacks are filled in smoothly
(extrapolated linearly from their neighbours), small enough not to blur the look."""
FALLBACK_WEIGHT = 1e-4
"""Weight of ∫(LUT − fallback)²: far from the photo's colours (about 0.3 of the cube away)
the LUT settles on the luminance-ordered fallback instead of extrapolating without end."""

_LUMA = np.array([0.2126, 0.7152, 0.0722])  # Rec. 709 weights, applied to encoded values
_CORNERS = [(r, g, b) for r in (0, 1) for g in (0, 1) for b in (0, 1)]
_OFFSETS = [(r, g, b) for r in (-1, 0, 1) for g in (-1, 0, 1) for b in (-1, 0, 1)] + [
    (2 * s * (a == 0), 2 * s * (a == 1), 2 * s * (a == 2)) for a in range(3) for s in (-1, 1)
]  # the stencil of the fit: the 27 neighbours and the second neighbours along each axis
_MAX_CG_STEPS = 100
_CG_TOLERANCE = 1e-6  # |residual| against |right-hand side|: 0.03 levels from exact on a photo


class LutError(PathError):
    """A LUT file that cannot be read or written."""


def fit_lut(
    source_rgb: np.ndarray,
    target_rgb: np.ndarray,
    size: int = DEFAULT_SIZE,
    *,
    smoothness: float = SMOOTHNESS,
    max_pixels: int = FIT_PIXELS,
) -> np.ndarray:
    """The size³ LUT (size×size×size×3 float32 in [0, 1]) that best maps the photo's colours
    to its translation's, pixel by pixel (same H×W×3 shape, uint8, uint16 or [0, 1] float).

    Least squares over the trilinear weights (each pixel spreads over the 8 lattice points
    around its colour), plus a thin-plate smoothness term that fills the colours the photo
    does not hold, pulled weakly towards a fallback that orders outputs by the inputs'
    luminance; last, the grey axis is made monotone (a darker grey never gives a brighter
    output). Deterministic: pixels are sampled on a regular grid."""
    if not 2 <= size <= MAX_FIT_SIZE:
        raise ValueError(f"LUT size must be between 2 and {MAX_FIT_SIZE}, got {size}")
    if np.shape(source_rgb) != np.shape(target_rgb):
        shapes = f"{np.shape(source_rgb)} and {np.shape(target_rgb)}"
        raise ValueError(f"photo and translation differ in shape: {shapes}")
    step = max(1, math.ceil(math.sqrt(source_rgb.shape[0] * source_rgb.shape[1] / max_pixels)))
    source = _unit_float(source_rgb[::step, ::step]).reshape(-1, 3).astype(np.float64)
    target = _unit_float(target_rgb[::step, ::step]).reshape(-1, 3).astype(np.float64)
    fitted = 2 ** max(2, math.ceil(math.log2(size - 1))) + 1  # 5, 9, 17, 33, 65, …
    levels = [_Level(_NormalEquations.of_pixels(source, target, fitted), smoothness)]
    while levels[-1].size > 5:
        levels.append(_Level(levels[-1].data.coarser(), smoothness))
    fallback = _LuminanceFallback(source, target)(identity_lut(fitted).astype(np.float64))
    lut = _solve(levels, fallback)
    if fitted != size:  # other sizes are resampled from the next lattice up
        lut = _trilinear(lut, identity_lut(size).astype(np.float64))
    return _monotone_grey_axis(np.clip(lut, 0, 1)).astype(np.float32)


def identity_lut(size: int) -> np.ndarray:
    """The size³ LUT that changes nothing: lut[r, g, b] = (r, g, b) / (size − 1)."""
    axis = np.linspace(0, 1, size, dtype=np.float32)
    return np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), axis=-1)


def apply_lut(lut: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """The LUT applied to an H×W×3 image by trilinear interpolation; the result has the
    image's dtype and range (uint8 and uint16 rounded, float in [0, 1])."""
    _check_lut(lut)
    colours = _unit_float(rgb)
    out = _trilinear(lut, colours)
    if rgb.dtype == np.uint8 or rgb.dtype == np.uint16:
        top = np.iinfo(rgb.dtype).max
        return np.rint(np.clip(out, 0, 1) * top).astype(rgb.dtype)
    return np.clip(out, 0, 1).astype(rgb.dtype)


def write_cube(
    path: str | os.PathLike[str],
    lut: np.ndarray,
    *,
    title: str = "hidt",
    overwrite: bool = False,
) -> None:
    """An Adobe/Resolve .cube file (see cube_text), written atomically."""
    _write(path, cube_text(lut, title=title).encode("ascii", errors="replace"), overwrite)


def cube_text(lut: np.ndarray, *, title: str = "hidt") -> str:
    """A LUT as .cube text: TITLE, LUT_3D_SIZE, DOMAIN_MIN/MAX 0–1, then one "R G B" line
    per lattice point with red changing fastest."""
    _check_lut(lut)
    text = io.StringIO()
    title = title.replace('"', "'").replace("\n", " ")
    text.write(f'TITLE "{title}"\nLUT_3D_SIZE {lut.shape[0]}\n')
    text.write("DOMAIN_MIN 0.0 0.0 0.0\nDOMAIN_MAX 1.0 1.0 1.0\n")
    red_fastest = np.clip(lut, 0, 1).transpose(2, 1, 0, 3).reshape(-1, 3)
    np.savetxt(text, red_fastest, fmt="%.6f")
    return text.getvalue()


def read_cube(path: str | os.PathLike[str]) -> np.ndarray:
    """The 3D LUT of a .cube file, as N×N×N×3 float32; LutError names the file and what is
    wrong with it (1D LUTs, domains other than 0–1, missing or extra entries)."""
    text = _read(path).decode("utf-8", errors="replace")
    size, rows, domain = None, [], ([0.0] * 3, [1.0] * 3)
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        word, *rest = line.split()
        if not _is_number(word):
            size, domain = _cube_keyword(path, number, word, rest, size, domain)
            continue
        if len(rest) != 2 or not all(_is_number(value) for value in rest):
            raise LutError(path, f"line {number}: expected three numbers, got {raw[:40]!r}")
        rows.append([float(word), *map(float, rest)])
    if size is None:
        raise LutError(path, "not a 3D .cube LUT (no LUT_3D_SIZE line)")
    if domain != ([0.0] * 3, [1.0] * 3):
        raise LutError(path, "DOMAIN_MIN/DOMAIN_MAX other than 0 and 1 are not supported")
    if len(rows) != size**3:
        raise LutError(
            path, f"holds {len(rows)} entries, LUT_3D_SIZE {size} needs {size**3} (truncated?)"
        )
    values = np.array(rows, dtype=np.float32)
    if not np.isfinite(values).all():
        raise LutError(path, "holds values that are not finite numbers")
    return np.ascontiguousarray(values.reshape(size, size, size, 3).transpose(2, 1, 0, 3))


def write_hald(
    path: str | os.PathLike[str],
    lut: np.ndarray,
    level: int = DEFAULT_HALD_LEVEL,
    *,
    overwrite: bool = False,
) -> None:
    """A Hald CLUT as a 16-bit PNG: level L gives an L³×L³ image whose pixels, read row by
    row, are the lattice points of an L²-sized cube with red changing fastest, resampled from
    the LUT by trilinear interpolation. Written atomically."""
    _check_lut(lut)
    if not 2 <= level <= 16:
        raise ValueError(f"Hald level must be between 2 and 16, got {level}")
    side = level**3
    colours = _trilinear(lut, identity_lut(level**2)).transpose(2, 1, 0, 3).reshape(side, side, 3)
    image = np.rint(np.clip(colours, 0, 1) * 65535).astype(np.uint16)
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(image[..., ::-1]))
    if not ok:
        raise LutError(path, "cannot encode the Hald image as PNG")
    _write(path, encoded.tobytes(), overwrite)


def read_hald(path: str | os.PathLike[str]) -> np.ndarray:
    """The LUT of a Hald CLUT image (8- or 16-bit PNG, TIFF, …), as N×N×N×3 float32."""
    data = np.frombuffer(_read(path), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise LutError(path, "not an image OpenCV can decode")
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise LutError(path, "a Hald CLUT is a colour image; this one has no three channels")
    side = image.shape[0]
    level = round(side ** (1 / 3))
    if image.shape[1] != side or level**3 != side or level < 2:
        shape = f"{image.shape[1]}×{image.shape[0]}"
        raise LutError(path, f"{shape} is not a Hald CLUT (a square of side L³, e.g. 512×512)")
    top = np.iinfo(image.dtype).max if image.dtype.kind == "u" else 1.0
    rgb = image[..., 2::-1].astype(np.float32) / top
    size = level**2
    return np.ascontiguousarray(rgb.reshape(size, size, size, 3).transpose(2, 1, 0, 3))


def _unit_float(rgb: np.ndarray) -> np.ndarray:
    """H×W×3 uint8, uint16 or float → float32 in [0, 1]."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an H×W×3 image, got shape {rgb.shape}")
    if rgb.dtype == np.uint8 or rgb.dtype == np.uint16:
        return rgb.astype(np.float32) / np.iinfo(rgb.dtype).max
    if rgb.dtype.kind != "f":
        raise ValueError(f"expected uint8, uint16 or float pixels, got {rgb.dtype}")
    return np.clip(np.nan_to_num(rgb.astype(np.float32)), 0, 1)


def _check_lut(lut: np.ndarray) -> None:
    if lut.ndim != 4 or lut.shape[3] != 3 or not lut.shape[0] == lut.shape[1] == lut.shape[2]:
        raise ValueError(f"expected an N×N×N×3 LUT, got shape {lut.shape}")
    if lut.shape[0] < 2:
        raise ValueError("a LUT needs at least 2 points per axis")


def _trilinear(lut: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """LUT values at …×3 colours in [0, 1] (trilinear, in the LUT's precision), …×3."""
    lut_t = torch.from_numpy(np.ascontiguousarray(lut))
    # grid_sample reads a D×H×W volume at (x, y, z) = (W, H, D) coordinates in [−1, 1]:
    # the volume is indexed [b, g, r], so a colour (r, g, b) is the point (x, y, z).
    volume = lut_t.permute(3, 2, 1, 0)[None]
    flat = torch.from_numpy(np.ascontiguousarray(colours.reshape(-1, 3), dtype=lut.dtype))
    out = torch.empty_like(flat)
    for start in range(0, len(flat), 1 << 21):  # bounded memory for 100-MP photos
        points = flat[start : start + (1 << 21)] * 2 - 1
        sampled = torch.nn.functional.grid_sample(
            volume, points.view(1, 1, 1, -1, 3), mode="bilinear", align_corners=True
        )
        out[start : start + len(points)] = sampled.view(3, -1).T
    return out.numpy().reshape(colours.shape)


class _NormalEquations:
    """The data term of the fit on one lattice: per lattice cell, Σ w wᵀ over the pixels in
    it (8×8, w = a pixel's trilinear weights of the cell's 8 corners) and Σ w tᵀ (8×3, t =
    the pixel's translation), each divided by the pixel count. Lattices here are
    channel-first, 3×size×size×size, so that numpy's inner loops run along an axis."""

    def __init__(self, moments: np.ndarray, sums: np.ndarray) -> None:
        self.moments, self.sums = moments, sums  # cells×cells×cells×8×8 and …×8×3
        self.cells = moments.shape[0]

    @classmethod
    def of_pixels(cls, source: np.ndarray, target: np.ndarray, size: int) -> _NormalEquations:
        cells = size - 1
        position = source * cells
        low = np.minimum(position.astype(np.int64), cells - 1)
        frac = position - low
        cell = (low[:, 0] * cells + low[:, 1]) * cells + low[:, 2]
        weights = [
            np.prod([frac[:, d] if bit else 1 - frac[:, d] for d, bit in enumerate(corner)], 0)
            for corner in _CORNERS
        ]
        moments = np.zeros((cells**3, 8, 8))
        sums = np.zeros((cells**3, 8, 3))
        for a in range(8):
            for b in range(a, 8):
                moments[:, a, b] = moments[:, b, a] = np.bincount(
                    cell, weights[a] * weights[b], cells**3
                )
            for c in range(3):
                sums[:, a, c] = np.bincount(cell, weights[a] * target[:, c], cells**3)
        shape = (cells, cells, cells)
        count = len(source)
        return cls(moments.reshape(*shape, 8, 8) / count, sums.reshape(*shape, 8, 3) / count)

    def coarser(self) -> _NormalEquations:
        """The same data term on the lattice with half the cells, exactly: within each of a
        coarse cell's 8 sub-cells, the coarse trilinear weights are a fixed linear map of
        the sub-cell's own."""
        half = self.cells // 2
        split = (half, 2, half, 2, half, 2)
        moments = self.moments.reshape(*split, 8, 8)
        sums = self.sums.reshape(*split, 8, 3)
        coarse_moments = np.zeros((half, half, half, 8, 8))
        coarse_sums = np.zeros((half, half, half, 8, 3))
        for sub in _CORNERS:
            restrict = _restriction(sub)
            index = (slice(None), sub[0], slice(None), sub[1], slice(None), sub[2])
            coarse_moments += restrict @ moments[index] @ restrict.T
            coarse_sums += restrict @ sums[index]
        return _NormalEquations(coarse_moments, coarse_sums)

    def rhs(self) -> np.ndarray:
        """Wᵀ t on the lattice."""
        n = self.cells
        out = np.zeros((3, n + 1, n + 1, n + 1))
        for a, (r, g, b) in enumerate(_CORNERS):
            out[:, r : r + n, g : g + n, b : b + n] += np.moveaxis(self.sums[:, :, :, a], -1, 0)
        return out

    @functools.cached_property
    def stencil(self) -> np.ndarray:
        """Wᵀ W as a stencil, len(_OFFSETS)×size×size×size: entry o at a lattice point is
        its coupling with the neighbour at offset _OFFSETS[o]."""
        n = self.cells
        out = np.zeros((len(_OFFSETS), n + 1, n + 1, n + 1))
        for a, corner_a in enumerate(_CORNERS):
            r, g, b = corner_a
            for c, corner_c in enumerate(_CORNERS):
                o = _OFFSETS.index(tuple(np.subtract(corner_c, corner_a)))
                out[o, r : r + n, g : g + n, b : b + n] += self.moments[:, :, :, a, c]
        return out


def _restriction(sub: tuple[int, int, int]) -> np.ndarray:
    """8×8: the weight of coarse corner e at corner d of the sub-cell at `sub` (0 or 1 per
    axis) of a coarse cell; trilinear weights at the points 0, ½ and 1 of each axis."""

    def weight(coarse: int, at: float) -> float:
        return at if coarse else 1 - at

    return np.array(
        [
            [
                np.prod([weight(e, (s + d) / 2) for e, s, d in zip(ec, sub, dc, strict=True)])
                for dc in _CORNERS
            ]
            for ec in _CORNERS
        ]
    )


def _thin_plate_stencil(size: int) -> np.ndarray:
    """The normal matrix of the discrete thin-plate energy Σ|Hessian L|² (squared second
    differences along each axis, twice the squared mixed ones) as a stencil like
    _NormalEquations.stencil. It is Σ_a K2 along a + 2 Σ_{a<b} K1 along a and b, where K1
    = D1ᵀD1 and K2 = D2ᵀD2 are the 1-D first- and second-difference normal matrices."""
    first = np.diff(np.eye(size), axis=0)
    second = np.diff(first, axis=0)
    k1, k2 = first.T @ first, second.T @ second

    def band(matrix: np.ndarray, shift: int, axis: int) -> np.ndarray:
        """matrix[i, i + shift] for every i, as a column along one lattice axis."""
        values = np.zeros(size)
        i = np.arange(max(0, -shift), min(size, size - shift))
        values[i] = matrix[i, i + shift]
        return values.reshape([size if a == axis else 1 for a in range(3)])

    out = np.zeros((len(_OFFSETS), size, size, size))
    for o, offset in enumerate(_OFFSETS):
        moving = {a for a in range(3) if offset[a]}
        for a in range(3):
            if moving <= {a}:
                out[o] += band(k2, offset[a], a)
        for a, b in ((0, 1), (0, 2), (1, 2)):
            if moving <= {a, b}:
                out[o] += 2 * band(k1, offset[a], a) * band(k1, offset[b], b)
    return out


class _Level:
    """The fit's normal equations on one lattice, channel-first (3×size×size×size, so that
    numpy's inner loops run along an axis): A L = Wᵀ t + prior·fallback with A = WᵀW +
    smooth·(thin plate) + prior·I, all one stencil. The integrals become lattice sums with
    the lattice's spacing, ∫|∇²L|² ≈ Σ|Δ²L|²·(size − 1) and ∫|L|² ≈ Σ|L|²/(size − 1)³, so
    that every lattice size poses the same problem."""

    def __init__(self, data: _NormalEquations, smoothness: float) -> None:
        self.data, self.size = data, data.cells + 1
        self.prior = FALLBACK_WEIGHT / (self.size - 1) ** 3
        smooth = smoothness * (self.size - 1)
        self.stencil = data.stencil + smooth * _thin_plate_stencil(self.size)
        self.stencil[_OFFSETS.index((0, 0, 0))] += self.prior
        self.jacobi = 1 / np.abs(self.stencil).sum(0)  # ℓ1-Jacobi: a smoother that cannot diverge

    def apply(self, lattice: np.ndarray) -> np.ndarray:
        """A L."""
        size, reach = self.size, 2
        padded = np.pad(lattice, [(0, 0)] + [(reach, reach)] * 3)
        out, term = np.zeros_like(lattice), np.empty_like(lattice)
        for offset, coefficients in zip(_OFFSETS, self.stencil, strict=True):
            r, g, b = (reach + d for d in offset)
            neighbours = padded[:, r : r + size, g : g + size, b : b + size]
            out += np.multiply(coefficients, neighbours, out=term)
        return out

    @functools.cached_property
    def inverse(self) -> np.ndarray:
        """A⁻¹ as a dense matrix (for the coarsest lattice: 5³ points)."""
        count = self.size**3
        columns = self.apply(np.eye(count).reshape(count, self.size, self.size, self.size))
        return np.linalg.inv(columns.reshape(count, count))


def _solve(levels: list[_Level], fallback: np.ndarray) -> np.ndarray:
    """The finest level's lattice (size×size×size×3) by conjugate gradients preconditioned
    with multigrid V-cycles, started from the fallback: plain conjugate gradients take
    thousands of steps to carry values into the large empty parts of the cube."""
    level = levels[0]
    fallback = np.moveaxis(fallback, -1, 0)
    rhs = level.data.rhs() + level.prior * fallback
    x = fallback.copy()
    residual = rhs - level.apply(x)
    z = _v_cycle(levels, residual)
    direction = z.copy()
    rz = np.sum(residual * z)
    enough = _CG_TOLERANCE**2 * np.sum(rhs * rhs)
    for _ in range(_MAX_CG_STEPS):
        if np.sum(residual * residual) <= enough:
            break
        product = level.apply(direction)
        alpha = rz / np.sum(direction * product)
        x += alpha * direction
        residual -= alpha * product
        z = _v_cycle(levels, residual)
        rz, previous = np.sum(residual * z), rz
        direction = z + (rz / previous) * direction
    return np.moveaxis(x, 0, -1)


def _v_cycle(levels: list[_Level], rhs: np.ndarray) -> np.ndarray:
    """An approximate solution of A x = rhs on levels[0]: a Jacobi sweep, the remaining
    residual solved on the coarser lattices and interpolated back, a Jacobi sweep again
    (one before and one after keep it a symmetric preconditioner)."""
    level = levels[0]
    if len(levels) == 1:
        flat = rhs.reshape(len(rhs), -1)
        return (flat @ level.inverse).reshape(rhs.shape)  # A is symmetric
    x = level.jacobi * rhs
    x += _prolong(_v_cycle(levels[1:], _restrict(rhs - level.apply(x))))
    return x + level.jacobi * (rhs - level.apply(x))


def _prolong(coarse: np.ndarray) -> np.ndarray:
    """C×n×n×n → C×(2n−1)×(2n−1)×(2n−1) by linear interpolation along each axis."""
    for axis in (1, 2, 3):
        shape = list(coarse.shape)
        shape[axis] = 2 * shape[axis] - 1
        fine = np.empty(shape)
        fine[_along(axis, slice(0, None, 2))] = coarse
        inner = coarse[_along(axis, slice(None, -1))] + coarse[_along(axis, slice(1, None))]
        fine[_along(axis, slice(1, None, 2))] = inner / 2
        coarse = fine
    return coarse


def _restrict(fine: np.ndarray) -> np.ndarray:
    """The transpose of _prolong: C×(2n−1)×… → C×n×…"""
    for axis in (1, 2, 3):
        coarse = fine[_along(axis, slice(0, None, 2))].copy()
        halves = fine[_along(axis, slice(1, None, 2))] / 2
        coarse[_along(axis, slice(None, -1))] += halves
        coarse[_along(axis, slice(1, None))] += halves
        fine = coarse
    return fine


def _along(axis: int, index: slice) -> tuple[slice, ...]:
    return tuple(index if a == axis else slice(None) for a in range(4))


class _LuminanceFallback:
    """Where the photo has no colours: the mean translation of the photo's colours of the
    same luminance, plus the input's own colour difference from their mean, scaled by one
    global gain (least squares). Its output luminance depends on the input's luminance only
    and never falls as that rises (the means' luminance is made monotone), whatever the
    hue."""

    def __init__(self, source: np.ndarray, target: np.ndarray, bins: int = 64) -> None:
        luma = source @ _LUMA
        index = np.minimum((luma * bins).astype(np.int64), bins - 1)
        count = np.bincount(index, minlength=bins)
        kept = count > 0

        def means(values: np.ndarray) -> np.ndarray:
            sums = [np.bincount(index, values[:, c], bins) for c in range(values.shape[1])]
            return (np.stack(sums, -1) / np.maximum(count, 1)[:, None])[kept]

        self.knots = means(luma[:, None])[:, 0]  # = luma of the source means, exactly
        self.source_means = means(source)
        target_means = means(target)
        target_luma = target_means @ _LUMA
        monotone = _isotonic(target_luma, count[kept].astype(np.float64))
        self.target_means = target_means + (monotone - target_luma)[:, None]
        spread = source - self.source_means[np.cumsum(kept)[index] - 1]
        residual = target - self.target_means[np.cumsum(kept)[index] - 1]
        gain = np.sum(spread * residual) / max(np.sum(spread**2), 1e-12)
        self.gain = float(np.clip(gain, 0, 2))
        rise = monotone[-1] - monotone[0]
        run = self.knots[-1] - self.knots[0]
        self.end_slope = max(rise / run, 0.0) if run > 1e-3 else 1.0

    def __call__(self, colours: np.ndarray) -> np.ndarray:
        luma = colours @ _LUMA
        source_mean = self._along(self.source_means, luma, 1.0)
        target_mean = self._along(self.target_means, luma, self.end_slope)
        return target_mean + self.gain * (colours - source_mean)

    def _along(self, means: np.ndarray, luma: np.ndarray, slope: float) -> np.ndarray:
        """The means at any luminance: linear between the knots, beyond them a grey line
        of the given slope."""
        inside = np.clip(luma, self.knots[0], self.knots[-1])
        out = np.stack([np.interp(inside, self.knots, means[:, c]) for c in range(3)], -1)
        return out + (slope * (luma - inside))[..., None]


def _isotonic(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The non-decreasing sequence closest to `values` in weighted least squares (pool
    adjacent violators)."""
    blocks: list[list[float]] = []  # [mean, weight, length]
    for value, weight in zip(values, weights, strict=True):
        blocks.append([float(value), float(weight), 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean_b, weight_b, length_b = blocks.pop()
            mean_a, weight_a, length_a = blocks[-1]
            total = weight_a + weight_b
            blocks[-1] = [
                (mean_a * weight_a + mean_b * weight_b) / total,
                total,
                length_a + length_b,
            ]
    return np.concatenate([np.full(length, mean) for mean, _, length in blocks])


def _monotone_grey_axis(lut: np.ndarray) -> np.ndarray:
    """The LUT with the luminance of its outputs made non-decreasing along the grey axis;
    each correction fades out over two lattice steps around the axis so that no seam
    appears. Luminance is raised by moving towards white and lowered by scaling towards
    black, which keeps every output within [0, 1]."""
    size = lut.shape[0]
    diagonal = lut[np.arange(size), np.arange(size), np.arange(size)] @ _LUMA
    change = _isotonic(diagonal, np.ones(size)) - diagonal
    if not np.any(np.abs(change) > 1e-9):
        return lut
    index = np.arange(size, dtype=np.float64)
    r, g, b = np.meshgrid(index, index, index, indexing="ij")
    along = (r + g + b) / 3
    across = np.sqrt((r - along) ** 2 + (g - along) ** 2 + (b - along) ** 2)
    wanted = np.interp(along, index, change) * np.exp(-((across / 2) ** 2))
    luma = lut @ _LUMA
    up = np.clip(wanted / np.maximum(1 - luma, 1e-9), 0, 1)[..., None]
    down = np.clip(-wanted / np.maximum(luma, 1e-9), 0, 1)[..., None]
    return np.where(wanted[..., None] > 0, lut + up * (1 - lut), lut * (1 - down))


def _read(path: str | os.PathLike[str]) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise LutError(path, "no such file") from None
    except IsADirectoryError:
        raise LutError(path, "is a directory") from None
    except OSError as exc:
        raise LutError(path, f"cannot read: {exc.strerror or exc}") from None


def _write(path: str | os.PathLike[str], data: bytes, overwrite: bool) -> None:
    target = Path(path)
    if not overwrite and os.path.lexists(target):
        raise OutputExistsError(target)
    write_atomic(target, data, overwrite)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


_Domain = tuple[list[float], list[float]]


def _cube_keyword(
    path: str | os.PathLike[str],
    number: int,
    word: str,
    rest: list[str],
    size: int | None,
    domain: _Domain,
) -> tuple[int | None, _Domain]:
    """One keyword line (line `number`) of a .cube file → the size and domain read so far."""
    if word == "LUT_1D_SIZE":
        raise LutError(path, "is a 1D LUT; only 3D LUTs are supported")
    if word == "LUT_3D_SIZE":
        if len(rest) != 1 or not rest[0].isdigit() or not 2 <= int(rest[0]) <= 256:
            raise LutError(path, f"line {number}: LUT_3D_SIZE must be a whole number 2–256")
        return int(rest[0]), domain
    if word in ("DOMAIN_MIN", "DOMAIN_MAX"):
        try:
            values = [float(v) for v in rest]
        except ValueError:
            values = []
        if len(values) != 3:
            raise LutError(path, f"line {number}: {word} needs three numbers")
        low, high = domain
        return size, (values, high) if word == "DOMAIN_MIN" else (low, values)
    if word == "LUT_3D_INPUT_RANGE":
        try:
            low, high = (float(v) for v in rest)
        except ValueError:
            raise LutError(path, f"line {number}: {word} needs two numbers") from None
        return size, ([low] * 3, [high] * 3)
    return size, domain  # TITLE and the editors' own keywords change nothing here
