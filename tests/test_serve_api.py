"""The HTTP API of `hidt serve` over real sockets, with the tiny random-weight model at
inference size 32: results equal `hidt translate` of the same photo and settings, bad requests
and hostile files get a 4xx JSON error and the server goes on serving, concurrent clients get
their own results, and the jobs (apply to all, timelapse) produce what they promise."""

from __future__ import annotations

import http.client
import io
import tempfile
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

pytest.importorskip("starlette", reason="hidt serve needs the serve extra: pip install -e .[serve]")

from hidt_cli.io.video import VideoReader  # noqa: E402
from hidt_cli.lut import apply_lut, read_cube  # noqa: E402
from hidt_cli.serve.engine import _shrunk  # noqa: E402
from hidt_cli.serve.settings import PREVIEW_PIXELS  # noqa: E402
from hidt_cli.styles import sample_prior  # noqa: E402
from tests.conftest import TINY_PRESETS, run_hidt  # noqa: E402
from tests.fuzz_corpus import IMAGE_FORMATS, MUTATIONS, image_seeds, mutate  # noqa: E402
from tests.images import SRGB, bomb_png, encoded, heic_header, make_photo  # noqa: E402
from tests.serve_client import multipart, running  # noqa: E402


@pytest.fixture(scope="module")
def server(model):
    with running(model, inference_size=32, max_upload_bytes=2_000_000, max_pixels=300_000) as pair:
        yield pair


@pytest.fixture
def client(server):
    return server[1]


def cli_result(tiny_weights, path: Path, *args) -> np.ndarray:
    """`hidt translate PATH ARGS -o out.png` in float32, as the served model → its pixels
    (RGBA when the photo has alpha)."""
    out = path.with_name(f"cli_{path.stem}.png")
    result = run_hidt("translate", tiny_weights, path, *args, "-o", out, "--overwrite", "--fp32")
    assert result.exit_code == 0, result.output
    return np.asarray(Image.open(out), dtype=np.float64)


def upload(client, rgb=None, name="photo.png") -> dict:
    data = encoded(make_photo() if rgb is None else rgb)
    reply = client.post_form("/api/photos", files={"image": (name, data)})
    assert reply.status == 201, reply.body
    return reply.json()


def assert_error(reply, status: int, *words: str) -> None:
    assert reply.status == status, (reply.status, reply.body)
    assert reply.headers["content-type"] == "application/json"
    message = reply.json()["error"]
    for word in words:
        assert word in message, message


def still_serving(client) -> None:
    assert client.get("/api/styles").status == 200


# ------------------------------------------------------------------ styles


def test_styles_are_the_presets_with_their_codes(client):
    styles = client.get("/api/styles").json()["styles"]
    assert {s["name"]: tuple(s["code"]) for s in styles} == TINY_PRESETS


def test_random_codes_are_those_of_the_cli_seed(client):
    codes = client.get("/api/random?count=3&seed=7").json()["codes"]
    assert np.allclose(codes, sample_prior(3, 7).numpy())


def test_style_of_a_reference_photo_is_the_model_s(client, model):
    reference = make_photo(seed=5)
    reply = client.post_form("/api/style", files={"image": ("ref.png", encoded(reference))})
    expected = model.style_code(reference, inference_size=32)
    assert np.allclose(reply.json()["code"], expected.numpy()[0])


# ------------------------------------------------------------------ /api/translate


def test_translate_preset_png_equals_the_cli(client, tiny_weights, photo):
    reply = client.post_form(
        "/api/translate",
        {"preset": "night", "format": "png"},
        {"image": (photo.name, photo.read_bytes())},
    )
    assert reply.status == 200, reply.body
    assert reply.headers["content-type"] == "image/png"
    expected = cli_result(tiny_weights, photo, "--preset", "night", "--format", "png")
    got = reply.pixels()
    assert got.shape == expected.shape
    assert np.abs(got - expected).mean() <= 1.0


def test_translate_keeps_alpha_and_colour_profile_like_the_cli(client, tiny_weights, tmp_path):
    rgba = np.dstack([make_photo(), np.tile(np.arange(96, dtype=np.uint8), (64, 1))])
    path = tmp_path / "cutout.png"
    Image.fromarray(rgba).save(path, icc_profile=SRGB)
    reply = client.post_form(
        "/api/translate", {"style_code": "0.3,-0.4,0.5"}, {"image": (path.name, path.read_bytes())}
    )
    assert reply.status == 200, reply.body
    image = reply.image()
    assert image.mode == "RGBA" and image.info.get("icc_profile") == SRGB
    expected = cli_result(tiny_weights, path, "--style-code=0.3,-0.4,0.5")
    assert np.abs(np.asarray(image, dtype=np.float64) - expected).mean() <= 1.0


def test_translate_with_a_style_image_equals_the_cli(client, tiny_weights, photo, tmp_path):
    style = tmp_path / "dusk.png"
    Image.fromarray(make_photo(seed=9)).save(style)
    reply = client.post_form(
        "/api/translate",
        {"format": "png"},
        {"image": (photo.name, photo.read_bytes()), "style": (style.name, style.read_bytes())},
    )
    assert reply.status == 200, reply.body
    expected = cli_result(tiny_weights, photo, "--style", style, "--format", "png")
    assert np.abs(reply.pixels() - expected).mean() <= 1.0


def test_translate_answers_in_the_photo_s_own_format_by_default(client, photo):
    reply = client.post_form(
        "/api/translate", {"preset": "day"}, {"image": ("a.jpg", photo.read_bytes())}
    )
    assert reply.headers["content-type"] == "image/jpeg"
    assert reply.image().format == "JPEG" and reply.image().size == (96, 64)
    assert "a_day.jpg" in reply.headers["content-disposition"]


@pytest.mark.parametrize(
    ("fields", "with_image", "status", "words"),
    [
        ({"preset": "night"}, False, 400, ["'image'"]),
        ({}, True, 400, ["choose a style"]),
        ({"preset": "night", "style_code": "1,2,3"}, True, 400, ["only one"]),
        ({"preset": "noon"}, True, 400, ["unknown preset 'noon'", "night"]),
        ({"style_code": "1,2"}, True, 400, ["3 comma-separated numbers"]),
        ({"style_code": "1,nan,2"}, True, 400, ["finite"]),
        ({"preset": "night", "format": "bmp"}, True, 400, ["format 'bmp'", "png"]),
    ],
)
def test_bad_translate_requests_are_named(client, photo, fields, with_image, status, words):
    files = {"image": (photo.name, photo.read_bytes())} if with_image else {}
    assert_error(client.post_form("/api/translate", fields, files), status, *words)


def test_a_body_that_is_not_a_form_is_refused(client):
    reply = client.request("POST", "/api/translate", b"\xff" * 100, {"content-type": "image/jpeg"})
    assert_error(reply, 415, "multipart/form-data")


def test_unknown_routes_and_photos_are_json_404(client):
    assert_error(client.get("/api/nothing"), 404, "not found")
    assert_error(client.get("/api/photos/0123456789abcdef"), 404, "no photo")
    assert_error(client.get("/api/jobs/0123456789abcdef"), 404, "no job")


# ------------------------------------------------------------------ hostile uploads


HOSTILE = {
    "zero.jpg": (b"", "zero.jpg: empty file"),
    "text.jpg": (b"definitely not a picture\n", "text.jpg: not an image file"),
    "truncated.png": (encoded(make_photo(64, 64))[:300], "truncated.png: truncated or corrupt"),
    "bomb.png": (bomb_png(), "bomb.png: 10000000000 pixels is over the limit of 300000"),
    "phone.heic": (heic_header(), "phone.heic: truncated or corrupt image data"),
    "../../etc/passwd": (b"root:x:0:0", "passwd: not an image file"),
}


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("route", ["/api/translate", "/api/photos", "/api/style"])
def test_hostile_files_get_a_4xx_naming_them(client, route, name):
    data, message = HOSTILE[name]
    reply = client.post_form(route, {"preset": "night"}, {"image": (name, data)})
    assert_error(reply, 400, message)
    still_serving(client)


def test_an_upload_over_the_byte_cap_is_413(model):
    big = encoded(np.random.default_rng(0).integers(0, 256, (200, 200, 3), dtype=np.uint8))
    assert len(big) > 100_000
    with running(model, inference_size=32, max_upload_bytes=100_000) as (server, client):
        reply = client.post_form("/api/photos", files={"image": ("big.png", big)})
        assert_error(reply, 413, "over the upload limit of 100000 bytes")
        # without a Content-Length the body is counted as it arrives
        body, content_type = multipart({}, {"image": ("big.png", big)})
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        chunks = (body[i : i + 8192] for i in range(0, len(body), 8192))
        connection.request(
            "POST", "/api/photos", chunks, {"content-type": content_type}, encode_chunked=True
        )
        response = connection.getresponse()
        assert response.status == 413 and b"upload limit" in response.read()
        still_serving(client)


def test_a_photo_over_max_pixels_is_refused_from_its_header(client):
    data = encoded(np.zeros((600, 600, 3), np.uint8))  # 360,000 > 300,000 pixels
    assert_error(client.post_form("/api/photos", files={"image": ("wide.png", data)}), 400, "limit")


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(fmt=st.sampled_from(IMAGE_FORMATS), edits=MUTATIONS)
def test_fuzzed_files_get_a_result_or_a_4xx_never_a_crash(client, fmt, edits):
    data = mutate(image_seeds()[fmt], edits)
    reply = client.post_form("/api/translate", {"preset": "night"}, {"image": (f"f.{fmt}", data)})
    if reply.status != 200:
        assert_error(reply, 400, f"f.{fmt}: ")
    still_serving(client)


# ------------------------------------------------------------------ concurrency


def test_eight_clients_at_once_get_their_own_results(client):
    photos = [encoded(make_photo(seed=i)) for i in range(8)]
    codes = [f"{i / 4 - 1},{1 - i / 4},0.5" for i in range(8)]

    def translate(i):
        return client.post_form(
            "/api/translate",
            {"style_code": codes[i], "format": "png"},
            {"image": (f"p{i}.png", photos[i])},
        )

    alone = [translate(i).pixels() for i in range(8)]
    start = threading.Barrier(8)

    def together(i):
        start.wait()
        return translate(i)

    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(together, range(8)))
    assert [r.status for r in replies] == [200] * 8
    for i, reply in enumerate(replies):
        assert np.array_equal(reply.pixels(), alone[i])
    assert len({r.body for r in replies}) == 8


# ------------------------------------------------------------------ the page's photo routes


def test_an_uploaded_photo_is_described_with_its_own_code(client, model):
    rgb = make_photo(seed=3)
    described = upload(client, rgb, "shore.png")
    assert (described["name"], described["width"], described["height"]) == ("shore.png", 96, 64)
    assert described["format"] == "png" and described["origin"] == "upload"
    expected = model.style_code(rgb, inference_size=32).numpy()[0]
    assert np.allclose(described["own_code"], expected)
    listed = client.get("/api/photos").json()["photos"]
    assert {"id": described["id"], "name": "shore.png", "origin": "upload"} in listed


def test_previews_follow_the_code_and_strength(client):
    photo = upload(client)
    base = f"/api/photos/{photo['id']}/preview"
    night = client.get(f"{base}?preset=night").pixels()
    other = client.get(f"{base}?code=1.5,1.5,1.5").pixels()
    assert np.abs(night - other).mean() > 1.0
    own = ",".join(map(str, photo["own_code"]))
    at_zero = client.get(f"{base}?preset=night&strength=0").pixels()
    assert np.array_equal(at_zero, client.get(f"{base}?code={own}").pixels())
    halfway = client.get(f"{base}?preset=night&strength=0.5").pixels()
    assert not np.array_equal(halfway, night) and not np.array_equal(halfway, at_zero)
    assert_error(client.get(f"{base}?preset=night&strength=2"), 400, "strength")
    assert_error(client.get(f"{base}"), 400, "code")


def test_export_equals_the_cli_and_is_named_like_its_output(client, tiny_weights, photo):
    reply = client.post_form("/api/photos", files={"image": (photo.name, photo.read_bytes())})
    photo_id = reply.json()["id"]
    export = client.get(f"/api/photos/{photo_id}/export?preset=night&format=png")
    assert export.status == 200
    assert 'filename="photo_night.png"' in export.headers["content-disposition"]
    expected = cli_result(tiny_weights, photo, "--preset", "night", "--format", "png")
    assert np.abs(export.pixels() - expected).mean() <= 1.0
    view = client.get(f"/api/photos/{photo_id}/view?preset=night")
    assert view.image().size == (96, 64)


def test_the_gallery_is_the_photo_under_every_preset(client):
    photo = upload(client)
    tiles = client.get(f"/api/photos/{photo['id']}/gallery").json()["tiles"]
    assert [t["name"] for t in tiles] == list(TINY_PRESETS)
    images = [t["image"] for t in tiles]
    assert all(i.startswith("data:image/jpeg;base64,") for i in images)
    assert len(set(images)) == len(images)


def test_originals_come_in_three_sizes(client):
    photo = upload(client, make_photo(576, 384))
    sizes = {}
    for size in ("thumb", "preview", "full"):
        sizes[size] = client.get(f"/api/photos/{photo['id']}/original?size={size}").image().size
    assert sizes == {"thumb": (384, 256), "preview": (576, 384), "full": (576, 384)}
    assert_error(client.get(f"/api/photos/{photo['id']}/original?size=huge"), 400, "thumb")


def test_the_preview_copy_is_one_megapixel_of_the_same_shape():
    photo_255 = torch.zeros(1, 3, 3000, 4000, dtype=torch.uint8)
    preview = _shrunk(photo_255, pixels=PREVIEW_PIXELS)
    h, w = preview.shape[-2:]
    assert preview.dtype == torch.uint8 and h * w <= PREVIEW_PIXELS < (h + 1) * (w + 1)
    assert abs(w / h - 4 / 3) < 0.01
    assert _shrunk(preview, pixels=PREVIEW_PIXELS) is preview


# ------------------------------------------------------------------ jobs


def wait_for(client, job: dict) -> dict:
    while job["state"] in ("queued", "running"):
        threading.Event().wait(0.05)
        job = client.get(f"/api/jobs/{job['id']}").json()
    return job


def test_apply_to_all_zips_every_export(client):
    ids = [upload(client, make_photo(seed=i), f"p{i}.png")["id"] for i in range(3)]
    job = client.post_json(
        "/api/jobs/apply", {"photos": ids, "preset": "night", "format": "png"}
    ).json()
    job = wait_for(client, job)
    assert (job["state"], job["done"], job["total"]) == ("done", 3, 3)
    archive = zipfile.ZipFile(io.BytesIO(client.get(job["result"]).body))
    assert sorted(archive.namelist()) == ["p0_night.png", "p1_night.png", "p2_night.png"]
    exported = client.get(f"/api/photos/{ids[1]}/export?preset=night&format=png").body
    assert archive.read("p1_night.png") == exported


def test_a_cancelled_job_stops_and_leaves_no_result(server):
    studio, client = server[0].studio, server[1]
    ids = [upload(client, make_photo(seed=i))["id"] for i in range(3)]
    with studio.engine._render_lock:  # the job waits at its first render
        job = client.post_json("/api/jobs/apply", {"photos": ids, "code": "0,0,0"}).json()
        cancelled = client.post_json(f"/api/jobs/{job['id']}/cancel", {}).json()
    job = wait_for(client, cancelled)
    assert job["state"] == "cancelled" and job["done"] < 3
    assert_error(client.get(f"/api/jobs/{job['id']}/result"), 409, "cancelled")
    assert not list(studio.folder.glob(f"job-{job['id']}*"))


def test_a_timelapse_is_an_mp4_through_the_keyframes(client, tmp_path):
    photo = upload(client, make_photo(130, 90))
    job = client.post_json(
        "/api/jobs/timelapse",
        {"photo": photo["id"], "keyframes": "day,-0.5:-1:-1,night", "frames": 10},
    ).json()
    job = wait_for(client, job)
    assert job["state"] == "done", job
    reply = client.get(job["result"])
    assert reply.headers["content-type"] == "video/mp4"
    path = tmp_path / "t.mp4"
    path.write_bytes(reply.body)
    with VideoReader(path) as video:
        frames = [frame.rgb for frame in video.frames()]
    assert len(frames) == 10 and frames[0].shape == (90, 130, 3)
    assert np.abs(frames[0].astype(float) - frames[-1]).mean() > 1.0


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"photos": []}, ["list of photo ids"]),
        ({"photos": ["0123456789abcdef"], "preset": "night"}, ["no photo"]),
        ({"photos": None, "code": "1,2,3"}, ["photos"]),
    ],
)
def test_bad_job_requests_are_named(client, body, words):
    reply = client.post_json("/api/jobs/apply", body)
    assert reply.status in (400, 404)
    assert_error(reply, reply.status, *words)


def test_bad_timelapse_requests_are_named(client):
    photo = upload(client)
    reply = client.post_json("/api/jobs/timelapse", {"photo": photo["id"], "keyframes": "noon"})
    assert_error(reply, 400, "unknown preset 'noon'")
    reply = client.post_json(
        "/api/jobs/timelapse", {"photo": photo["id"], "keyframes": "day,night", "frames": 1000}
    )
    assert_error(reply, 400, "frames 1000")


# ------------------------------------------------------------------ the LUT hook


def test_the_look_as_a_lut_reproduces_the_preview(client):
    """The page's .cube: the look fitted on the preview copy; applied to that copy it gives
    the preview's translation back, far closer than the photo itself is."""
    photo = upload(client)
    reply = client.get(f"/api/photos/{photo['id']}/lut?preset=night&size=17")
    assert reply.status == 200 and b"LUT_3D_SIZE 17" in reply.body
    assert 'filename="photo_night.cube"' in reply.headers["content-disposition"]
    cube = Path(tempfile.mkdtemp()) / "look.cube"
    cube.write_bytes(reply.body)
    look = read_cube(cube)
    original = np.asarray(
        Image.open(io.BytesIO(client.get(f"/api/photos/{photo['id']}/original?size=preview").body))
    )
    preview = np.asarray(
        Image.open(io.BytesIO(client.get(f"/api/photos/{photo['id']}/preview?preset=night").body))
    )
    applied = apply_lut(look, original).astype(float)
    assert np.abs(applied - preview).mean() < 0.5 * np.abs(original.astype(float) - preview).mean()
