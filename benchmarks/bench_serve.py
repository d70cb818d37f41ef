"""hidt studio through its HTTP API: how long a style change takes to come back as the new
preview of a 1-MP photo, and the preset gallery of a 12-MP photo. A server in this process on
a loopback port, real requests over the socket. Run it from the repository root (which makes
`tests` importable):

    python -m benchmarks.bench_serve                           # default weights, CPU
    python -m benchmarks.bench_serve --changes 30 --preview 1280x800 --gallery 4032x3024
    python -m benchmarks.bench_serve --browser                 # also in headless Chromium

Each style change is one GET of /api/photos/ID/preview with a new code (as the page sends while
a slider moves: one request at a time), timed from sending it to the last byte of the JPEG.
The gallery is timed twice: the upload of the 12-MP photo (decode, copies, own style code),
then the first GET of its gallery (every preset rendered on the thumbnail copy). With
--browser, the page itself in headless Chromium: the slider b is moved by the mouse, one
position at a time, and the page's own measure from the slider's input event to the new
picture on screen is read (performance entries "hidt:preview").
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

import hidt_cli
from benchmarks.benchlib import StageTimes, describe_machine, photo_size, synthetic_photo
from tests.serve_client import running


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", help="default: the shipped weights")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--fp32", action="store_true", help="float32 (as on a CPU without bf16)")
    parser.add_argument("--preview", type=photo_size, default=(1152, 864), help="WxH, ~1 MP")
    parser.add_argument("--gallery", type=photo_size, default=(4000, 3000), help="WxH, 12 MP")
    parser.add_argument("--changes", type=int, default=20, help="style changes timed")
    parser.add_argument("--browser", action="store_true", help="also in headless Chromium")
    args = parser.parse_args()

    dtype = torch.float32 if args.fp32 else None
    model = hidt_cli.load(args.weights, device=args.device, dtype=dtype)
    print(
        f"weights: {model.info.generator.source}; {model.dtype}; {describe_machine(model.device)}"
    )
    with running(model, max_pixels=60_000_000, max_upload_bytes=256 * 2**20) as (_, client):
        preview_latencies(client, args.preview, args.changes)
        gallery_seconds(client, args.gallery, len(model.presets))
        if args.browser:
            browser_latencies(client.base, args.preview, args.changes)


def jpeg(size: tuple[int, int], seed: int) -> bytes:
    width, height = size
    buffer = io.BytesIO()
    Image.fromarray(synthetic_photo(height, width, seed)).save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def upload(client, data: bytes) -> str:
    reply = client.post_form("/api/photos", files={"image": ("photo.jpg", data)})
    if reply.status != 201:
        raise SystemExit(f"upload failed: {reply.status} {reply.body[:200]!r}")
    return reply.json()["id"]


def preview_latencies(client, size: tuple[int, int], changes: int) -> None:
    photo_id = upload(client, jpeg(size, 0))
    client.get(f"/api/photos/{photo_id}/preview?preset=night")  # warm-up
    times = StageTimes(torch.device("cpu"))
    latencies = []
    for i in range(changes):  # slider b moving across its range, a new code every time
        code = f"0.25,{-2 + 3 * i / max(1, changes - 1):.4f},-0.5"
        start = time.perf_counter()
        with times.stage("preview"):
            reply = client.get(f"/api/photos/{photo_id}/preview?code={code}")
        latencies.append(1000 * (time.perf_counter() - start))
        assert reply.status == 200, reply.body
    latencies.sort()
    print(f"\nstyle change → new preview of a {size[0]}×{size[1]} photo, {changes} changes:")
    print(
        f"  median {statistics.median(latencies):.0f} ms, best {latencies[0]:.0f} ms, "
        f"90th percentile {latencies[int(0.9 * (len(latencies) - 1))]:.0f} ms, "
        f"worst {latencies[-1]:.0f} ms"
    )
    print(f"  other processes used {100 * times.contention:.0f}% of the machine meanwhile")


def gallery_seconds(client, size: tuple[int, int], presets: int) -> None:
    data = jpeg(size, 1)
    times = StageTimes(torch.device("cpu"))
    with times.stage("upload"):
        photo_id = upload(client, data)
    with times.stage("gallery"):
        tiles = client.get(f"/api/photos/{photo_id}/gallery").json()["tiles"]
    assert len(tiles) == presets
    upload_s, gallery_s = times.seconds["upload"], times.seconds["gallery"]
    print(f"\npreset gallery of a {size[0]}×{size[1]} photo ({len(data) / 2**20:.1f} MB JPEG):")
    print(f"  upload (decode, copies, own style code) {upload_s:.2f} s")
    print(f"  gallery ({presets} presets)               {gallery_s:.2f} s")
    print(f"  together                                {upload_s + gallery_s:.2f} s")
    print(f"  other processes used {100 * times.contention:.0f}% of the machine meanwhile")


def browser_latencies(url: str, size: tuple[int, int], changes: int) -> None:
    from playwright.sync_api import sync_playwright

    from tests.test_serve_browser import CHROMIUM, CHROMIUM_ARGS

    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        photo = Path(folder, "photo.jpg")
        photo.write_bytes(jpeg(size, 2))
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.set_default_timeout(120_000)
        page.goto(url)
        page.wait_for_selector("body[data-ready=true]")
        page.set_input_files("#open-input", str(photo))
        page.wait_for_selector(".tile")
        box = page.locator("#code-1").bounding_box()
        for i in range(changes):  # each once the page is idle: no preview in flight
            page.wait_for_function("() => document.getElementById('status').textContent === ''")
            shown = int(page.get_attribute("#after", "data-shown") or 0)
            value = page.input_value("#code-1")
            # from one side to the other, drifting: never onto the thumb, never the same value
            x = box["x"] + box["width"] * (0.1 + 0.7 * (i % 2) + 0.1 * i / changes)
            page.mouse.click(x, box["y"] + box["height"] / 2)
            if page.input_value("#code-1") != value:
                page.wait_for_function(
                    f"() => Number(document.getElementById('after').dataset.shown) > {shown}"
                )
        latencies = sorted(
            page.evaluate("performance.getEntriesByName('hidt:preview').map(e => e.duration)")
        )
        browser.close()
    print(f"\nin Chromium, slider input → new picture on screen, {len(latencies)} changes:")
    print(
        f"  median {statistics.median(latencies):.0f} ms, best {latencies[0]:.0f} ms, "
        f"worst {latencies[-1]:.0f} ms"
    )


if __name__ == "__main__":
    main()
