"""The CUDA paths: bf16 autocast against float32 (the networks and the detail stage's bf16
passes), the out-of-memory halving under a real memory limit, `--devices` with two worker
processes on one GPU, a clip on CUDA against the same clip on the CPU, and channels_last with
torch.compile.

Each test needs a CUDA device and is skipped without one. HIDT_CUDA_TESTS_ON_CPU=1 runs them
on the CPU instead, at smaller sizes, to check the tests themselves: the comparisons and
bookkeeping run, the out-of-memory test raises the error by hand (as tests/test_work_limits.py
does), and a clip is compared with itself; what only a GPU can show is asserted only there.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import os
import shutil
from collections.abc import Callable, Iterator

import numpy as np
import pytest
import torch
from PIL import Image

import hidt_cli
from hidt_cli.clips import fixed_style, render_clip
from hidt_cli.devices import WorkLimits
from hidt_cli.io.video import VideoReader, read_frames
from hidt_cli.models import Enhancer, Generator
from hidt_cli.ranges import photo_tensor
from hidt_cli.render import RenderSpec
from tests.clips import SCENE_FRAMES, scene_clip
from tests.conftest import TINY_ENHANCER, TINY_GENERATOR, converted, run_hidt
from tests.images import make_photo

ON_CUDA = torch.cuda.is_available()
LOGIC_ON_CPU = os.environ.get("HIDT_CUDA_TESTS_ON_CPU") == "1"
PHOTO = (1536, 1024) if ON_CUDA else (192, 128)
"""Width and height of the test photo: the benchmark's size on a GPU, small on a CPU."""
INFERENCE_SIZE = 256 if ON_CUDA else 64
STYLE = torch.tensor([[0.3, -0.8, 0.5]])


@pytest.fixture(scope="module")
def device() -> torch.device:
    if ON_CUDA:
        return torch.device("cuda", 0)
    if LOGIC_ON_CPU:
        return torch.device("cpu")
    pytest.skip("needs a CUDA device")


@pytest.fixture
def exact_float32() -> Iterator[None]:
    """float32 convolutions and products without TF32, so that the GPU computes what the CPU
    does up to rounding order."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def networks(size: str) -> tuple[Generator, Enhancer]:
    """Random networks of the published sizes or the tests' tiny ones, the same on every call."""
    torch.manual_seed(0)
    if size == "published":
        return Generator(), Enhancer()
    return Generator(TINY_GENERATOR), Enhancer(TINY_ENHANCER)


def model_of(size: str, device: torch.device, dtype: torch.dtype | None, **options):
    """A HiDT with networks of its own, so that models on two devices never share them."""
    generator, enhancer = networks(size)
    return hidt_cli.HiDT(generator, enhancer, device=device, dtype=dtype, **options)


def levels(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-value distance of two 8-bit images, in levels."""
    return np.abs(a.astype(np.int16) - b.astype(np.int16))


def render_with_networks_output(model, photo_255: torch.Tensor, spec: RenderSpec):
    """What `model.render` does for one photo and one style, keeping the networks' output
    on the way: (translation in [−1, 1], the result at the photo's size)."""
    renderer = model.renderer
    encoded = renderer.encode(photo_255, spec)
    ((rows, translated),) = renderer.translations(encoded, STYLE)
    return translated, renderer.finish(encoded, rows, translated)[0]


@pytest.mark.parametrize("hires", [False, True], ids=["plain", "hires"])
@pytest.mark.parametrize("size", ["tiny", "published"])
def test_bf16_autocast_agrees_with_float32(device, size, hires):
    photo_rgb = make_photo(*PHOTO)
    photo = photo_tensor(photo_rgb, device)
    spec = RenderSpec(hires=hires, inference_size=INFERENCE_SIZE)
    exact = model_of(size, device, torch.float32)
    fast = model_of(size, device, torch.bfloat16)
    if device.type == "cuda":  # the GPU configuration: bf16 networks and detail passes
        assert fast.networks.detail_dtype == torch.bfloat16
        assert exact.networks.detail_dtype == torch.float32
    want_pm1, want = render_with_networks_output(exact, photo, spec)
    got_pm1, got = render_with_networks_output(fast, photo, spec)
    assert got.shape == want.shape == (PHOTO[1], PHOTO[0], 3)
    relative = (got_pm1 - want_pm1).norm() / want_pm1.norm()
    # bf16 keeps 8 bits of mantissa: measured 0.4-2.6 % through these networks on a CPU
    assert relative.item() < 5e-2, f"networks: relative error {relative.item():.3g}"
    apart = levels(got, want)
    assert apart.mean() <= 1.5 and np.percentile(apart, 99) <= 6, (
        f"results: mean {apart.mean():.2f}, 99th percentile {np.percentile(apart, 99)} levels"
    )
    assert levels(want, photo_rgb).mean() > 5  # the networks changed the photo: a real check


@contextlib.contextmanager
def memory_limit(device: torch.device, limit_bytes: int) -> Iterator[None]:
    """Let the caching allocator hold at most `limit_bytes` on the device, then lift it."""
    total = torch.cuda.get_device_properties(device).total_memory
    torch.cuda.set_per_process_memory_fraction(limit_bytes / total, device)
    try:
        yield
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0, device)
        torch.cuda.empty_cache()


def peak_bytes(run: Callable[[], torch.Tensor], device: torch.device):
    """(run's result, the most memory the allocator reserved during it beyond what it held
    before)."""
    torch.cuda.synchronize(device)
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_reserved(device)
    result = run()
    torch.cuda.synchronize(device)
    return result, torch.cuda.max_memory_reserved(device) - before


def test_out_of_memory_halving_gives_the_one_batch_result(device, exact_float32, monkeypatch):
    """The 16 crops of a --hires photo through the generator at once, under a memory limit
    that one crop fits in and the whole batch does not: the batch is halved until it fits,
    and the result is the one-batch result."""
    whole = model_of("published", device, torch.float32)
    crops = whole.hires_crops(make_photo(*PHOTO), INFERENCE_SIZE)
    styles = STYLE.expand(len(crops), -1)
    crop_pixels = crops.shape[-2] * crops.shape[-1]
    one_batch = WorkLimits(generator_pixels=len(crops) * crop_pixels, enhancer_pixels=10**9)

    def limited(limits: WorkLimits) -> hidt_cli.HiDT:
        return hidt_cli.HiDT(whole.generator, device=device, dtype=torch.float32, limits=limits)

    def translate(model: hidt_cli.HiDT) -> torch.Tensor:
        return model.decode(model.encode_content(crops), styles)

    halving = limited(one_batch)
    if device.type == "cuda":
        want, peak_whole = peak_bytes(lambda: translate(limited(one_batch)), device)
        one_crop = dataclasses.replace(one_batch, generator_pixels=crop_pixels)
        split, peak_split = peak_bytes(lambda: translate(limited(one_crop)), device)
        assert peak_whole > 1.5 * peak_split, (
            f"the test needs a batch that takes far more memory than one crop: "
            f"{peak_whole / 2**20:.0f} MiB whole, {peak_split / 2**20:.0f} MiB one at a time"
        )
        torch.cuda.empty_cache()
        held = torch.cuda.memory_reserved(device)
        with memory_limit(device, held + (peak_split + peak_whole) // 2):
            got = translate(halving)
        torch.testing.assert_close(split, want, atol=1e-4, rtol=0)
    else:  # the logic on the CPU: the error raised by hand for batches of more than 4
        want = translate(limited(one_batch))
        networks_ = halving.networks
        encode, decode = networks_._encode_content, networks_._decode

        def small_encodes_only(images):
            if len(images) > 4:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
            return encode(images)

        def small_decodes_only(content, codes):
            if len(codes) > 4:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
            return decode(content, codes)

        monkeypatch.setattr(networks_, "_encode_content", small_encodes_only)
        monkeypatch.setattr(networks_, "_decode", small_decodes_only)
        got = translate(halving)
    assert halving.limits.generator_pixels < one_batch.generator_pixels  # it did halve
    torch.testing.assert_close(got, want, atol=1e-4, rtol=0)


def test_devices_split_a_folder_between_two_workers_on_one_gpu(device, tiny_weights, tmp_path):
    name = "cuda:0" if device.type == "cuda" else "cpu"
    folder = tmp_path / "in"
    folder.mkdir()
    inputs = set()
    for i in range(6):
        path = folder / f"p{i}.png"
        Image.fromarray(make_photo(64, 48, seed=i)).save(path)
        inputs.add(str(path))
    common = ("--preset", "night", "--json", "-q")
    split = run_hidt(
        "translate",
        tiny_weights,
        folder,
        *common,
        "--output-dir",
        tmp_path / "split",
        "--devices",
        f"{name},{name}",
    )
    assert split.exit_code == 0, split.output
    reported = [f["input"] for f in json.loads(split.stdout)["files"]]
    assert sorted(reported) == sorted(inputs)  # each input once: disjoint and complete
    assert converted(split) == inputs
    alone = run_hidt(
        "translate",
        tiny_weights,
        folder,
        *common,
        "--output-dir",
        tmp_path / "alone",
        "--device",
        name,
    )
    assert alone.exit_code == 0, alone.output
    outputs = sorted((tmp_path / "split").iterdir())
    assert [p.name for p in outputs] == sorted(p.name for p in (tmp_path / "alone").iterdir())
    assert len(outputs) == len(inputs)
    for path in outputs:
        a, b = (
            np.asarray(Image.open(p).convert("RGB")) for p in (path, tmp_path / "alone" / path.name)
        )
        assert levels(a, b).max() <= 2, path.name


def test_a_clip_on_cuda_equals_the_clip_on_the_cpu(device, tiny_weights, exact_float32, tmp_path):
    """A clip's frames through the video path (batches, the detail stage, the steadying
    window) on the device and on the CPU, both in float32, within 2 levels; then the whole
    command on the device."""
    clip = scene_clip(tmp_path / "clip.mp4")
    with VideoReader(clip) as reader:
        frames = list(reader.frames())
    spec = RenderSpec(inference_size=64)
    results = []
    for where in (device, torch.device("cpu")):
        model = model_of("published", where, torch.float32)
        rendered = render_clip(model.renderer, frames, fixed_style(STYLE), spec, batch=4)
        results.append([frame.rgb for frame in rendered])
    on_device, on_cpu = results
    assert len(on_device) == len(on_cpu) == SCENE_FRAMES
    worst = max(levels(a, b).max() for a, b in zip(on_device, on_cpu, strict=True))
    assert worst <= 2, f"{worst} levels apart"
    assert levels(on_cpu[0], frames[0].rgb).mean() > 5

    name = "cuda:0" if device.type == "cuda" else "cpu"
    result = run_hidt("translate", tiny_weights, clip, "--preset", "night", "--device", name)
    assert result.exit_code == 0, result.output
    assert len(list(read_frames(clip.with_name("clip_night.mp4")))) == SCENE_FRAMES


@pytest.mark.parametrize("hires", [True, False], ids=["hires", "plain"])
def test_channels_last_and_compile_run(device, hires):
    """On a GPU, --hires with the published sizes at the benchmark's photo size, so that the
    benchmark's compiled row finds these kernels in torch's compile cache; the plain path with
    the tiny networks (every new network or shape compiles anew)."""
    if device.type == "cpu" and shutil.which(os.environ.get("CXX", "g++")) is None:
        pytest.skip("torch.compile on the CPU needs a C++ compiler")
    on_gpu_hires = hires and device.type == "cuda"
    eager = model_of("published" if on_gpu_hires else "tiny", device, None, channels_last=False)
    generator, enhancer = copy.deepcopy(eager.generator), copy.deepcopy(eager.enhancer)
    compiled = hidt_cli.HiDT(
        generator, enhancer, device=device, channels_last=True, compile_networks=True
    )
    assert compiled.dtype == eager.dtype
    size, inference_size = (PHOTO, INFERENCE_SIZE) if on_gpu_hires else ((192, 128), 64)
    photo = photo_tensor(make_photo(*size), device)
    spec = RenderSpec(hires=hires, inference_size=inference_size)
    want = next(eager.render(photo, STYLE, spec))[0]
    got = next(compiled.render(photo, STYLE, spec))[0]
    apart = levels(got, want)
    assert apart.mean() <= 1.0 and apart.max() <= 8, (apart.mean(), apart.max())
