"""hidt studio through its HTTP API: how long a style change takes to come back as the new
preview of a 1-MP photo, and the preset gallery of a 12-MP photo. A server in this process on
a loopback port, real requests over the socket. Run it from the repository root (which makes
`tests` importable):

    python -m benchmarks.bench_serve                           # default weights, CPU
    python -m benchmarks.bench_serve --changes 30 --preview 1280x800 --gallery 4032x3024

Each style change is one GET of /api/photos/ID/preview with a new code (as the page sends while
a slider moves: one request at a time), timed from sending it to the last byte of the JPEG.
The gallery is timed twice: the upload of the 12-MP photo (decode, copies, own style code),
then the first GET of its gallery (every preset rendered on the thumbnail copy).
"""

from __future__ import annotations

import argparse
import io
import statistics
import time

import torch
from PIL import Image

import hidt_cli
from benchmarks.benchlib import StageTimes, describe_machine, photo_size, synthetic_photo
from tests.serve_client import running


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", help="default: the shipped weights")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--preview", type=photo_size, default=(1152, 864), help="WxH, ~1 MP")
    parser.add_argument("--gallery", type=photo_size, default=(4000, 3000), help="WxH, 12 MP")
    parser.add_argument("--changes", type=int, default=20, help="style changes timed")
    args = parser.parse_args()

    model = hidt_cli.load(args.weights, device=args.device)
    print(
        f"weights: {model.info.generator.source}; {model.dtype}; {describe_machine(model.device)}"
    )
    with running(model, max_pixels=60_000_000, max_upload_bytes=256 * 2**20) as (_, client):
        preview_latencies(client, args.preview, args.changes)
        gallery_seconds(client, args.gallery, len(model.presets))


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


if __name__ == "__main__":
    main()
