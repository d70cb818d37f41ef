"""hidt studio in a real browser: headless Chromium (Debian's package) driven by Playwright
opens the page of a server in this process, loads a photo, moves a style slider and sees the
preview change, picks a preset, exports, and compares the file with `hidt translate` of the same
photo and settings; a hostile upload shows an error and the page keeps working. The times from
a slider's input event to the new picture on screen are printed (the page measures them), not
asserted."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("starlette", reason="hidt serve needs the serve extra: pip install -e .[serve]")
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the browser tests need Playwright: pip install playwright"
)

from tests.conftest import run_hidt  # noqa: E402
from tests.images import make_photo  # noqa: E402
from tests.serve_client import running  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 60_000

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Chromium is not installed (apt-get install -y chromium)"
)


@pytest.fixture(scope="module")
def server(model):
    with running(model, inference_size=32) as (server, _):
        yield server


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tmp_path_factory.mktemp("chromium-profile"),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            accept_downloads=True,
            viewport={"width": 1280, "height": 800},
        )
        context.set_default_timeout(TIMEOUT_MS)
        yield context
        context.close()


@pytest.fixture
def page(browser, server):
    page = browser.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(server.url)
    page.wait_for_selector("body[data-ready=true]")
    yield page
    previews = page.evaluate(
        "performance.getEntriesByName('hidt:preview').map(e => Math.round(e.duration))"
    )
    print(f"\nstyle change → picture on screen (ms, tiny test model): {previews}")
    page.close()
    assert problems == [], problems


def previews_shown(page) -> int:
    """How many pictures the page has shown in the result view (it counts them)."""
    return int(page.get_attribute("#after", "data-shown") or 0)


def wait_for_new_preview(page, before: int) -> None:
    page.wait_for_function(
        f"() => Number(document.getElementById('after').dataset.shown || 0) > {before}"
    )


def shown_pixels(page) -> np.ndarray:
    """The preview as the page shows it: the image's decoded pixels, read through a canvas."""
    width, height, data = page.evaluate(
        """() => {
            const image = document.getElementById('after');
            const canvas = document.createElement('canvas');
            canvas.width = image.naturalWidth;
            canvas.height = image.naturalHeight;
            const context = canvas.getContext('2d');
            context.drawImage(image, 0, 0);
            const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
            return [canvas.width, canvas.height, Array.from(pixels)];
        }"""
    )
    return np.asarray(data, dtype=np.float64).reshape(height, width, 4)[..., :3]


def open_photo(page, path: Path) -> None:
    shown = previews_shown(page)
    page.set_input_files("#open-input", str(path))
    page.wait_for_selector(".tile[data-preset=night]")
    wait_for_new_preview(page, shown)


def test_style_slider_preset_and_export_match_the_cli(page, photo, tiny_weights, tmp_path):
    open_photo(page, photo)
    assert page.locator(".tile").count() == 2
    before = shown_pixels(page)

    # move the style slider b with the mouse, as a person would
    shown = previews_shown(page)
    box = page.locator("#code-1").bounding_box()
    page.mouse.click(box["x"] + 0.92 * box["width"], box["y"] + box["height"] / 2)
    wait_for_new_preview(page, shown)
    page.wait_for_function("() => document.getElementById('status').textContent === ''")
    moved = shown_pixels(page)
    assert float(page.input_value("#code-1")) > 1.5
    assert np.abs(moved - before).mean() > 1.0

    # pick the preset in the gallery, then export it as PNG
    shown = previews_shown(page)
    page.click(".tile[data-preset=night]")
    wait_for_new_preview(page, shown)
    assert page.input_value("#code-1") == "-1" and "--preset night" in page.inner_text("#cli")
    page.select_option("#format", "png")
    with page.expect_download() as download:
        page.click("#export")
    assert download.value.suggested_filename == "photo_night.png"
    exported = tmp_path / "exported.png"
    download.value.save_as(exported)
    cli = photo.with_name("cli.png")
    options = ("--preset", "night", "--format", "png", "-o", cli)
    result = run_hidt("translate", tiny_weights, photo, *options, "--fp32")  # as `model` runs
    assert result.exit_code == 0, result.output
    got = np.asarray(Image.open(exported), dtype=np.float64)
    expected = np.asarray(Image.open(cli), dtype=np.float64)
    assert got.shape == expected.shape and np.abs(got - expected).mean() <= 1.0


def test_a_hostile_upload_shows_an_error_and_the_page_keeps_working(page, photo):
    open_photo(page, photo)
    page.set_input_files(
        "#open-input",
        files=[{"name": "bad.jpg", "mimeType": "image/jpeg", "buffer": b"not a picture at all"}],
    )
    page.wait_for_selector("#error:not([hidden])")
    assert "bad.jpg: not an image file" in page.inner_text("#error-text")
    assert page.locator("#photo-list li").count() == page.evaluate(
        "fetch('/api/photos').then(r => r.json()).then(j => j.photos.length)"
    )
    page.click("#error-close")
    shown = previews_shown(page)
    page.click(".tile[data-preset=day]")
    wait_for_new_preview(page, shown)
    assert page.locator("#error").is_hidden()


def test_drop_compare_zoom_apply_to_all_and_timelapse(page, photo):
    open_photo(page, photo)
    count = page.locator("#photo-list li").count()
    dropped = io.BytesIO()
    Image.fromarray(make_photo(seed=4)).save(dropped, format="PNG")
    page.evaluate(
        """(bytes) => {
            const files = new DataTransfer();
            files.items.add(new File([new Uint8Array(bytes)], 'dropped.png', {type: 'image/png'}));
            window.dispatchEvent(new DragEvent('drop', {dataTransfer: files, cancelable: true}));
        }""",
        list(dropped.getvalue()),
    )
    page.wait_for_function(
        f"() => document.querySelectorAll('#photo-list li').length === {count + 1}"
    )
    page.wait_for_selector(".photo.on >> text=dropped.png")

    # the before/after divider follows its slider
    page.fill("#split", "20")
    assert page.evaluate("document.getElementById('divider').style.left") == "20%"
    # 100 %: the full-size render, at its pixel size
    with page.expect_response(lambda r: "/view?" in r.url and r.status == 200):
        page.click("#zoom-100")
    assert page.evaluate("document.getElementById('compare').style.width") == "96px"
    page.click("#zoom-fit")

    # apply to all: a ZIP of every open photo
    with page.expect_download() as download:
        page.click("#apply-all")
    archive = zipfile.ZipFile(download.value.path())
    names = json.loads(page.evaluate("fetch('/api/photos').then(r => r.text())"))["photos"]
    assert len(archive.namelist()) == len(names)

    # the timelapse preview plays in the page
    page.fill("#keyframes", "day,night")
    page.fill("#frames", "6")
    page.click("#timelapse")
    page.wait_for_function(
        """() => {
            const video = document.getElementById('timelapse-video');
            return !video.hidden && video.readyState >= 2 && video.videoWidth === 96;
        }"""
    )


def test_dragging_a_slider_keeps_one_preview_in_flight_and_ends_on_its_value(page, photo):
    open_photo(page, photo)
    in_flight, most = set(), [0]

    def started(request):
        if "/preview?" in request.url:
            in_flight.add(request.url)
            most[0] = max(most[0], len(in_flight))

    def ended(request):
        in_flight.discard(request.url)

    page.on("request", started)
    page.on("requestfinished", ended)
    page.on("requestfailed", ended)
    requests = []
    page.on("request", lambda r: "/preview?" in r.url and requests.append(r.url))
    box = page.locator("#code-0").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 0.5 * box["width"], y)
    page.mouse.down()
    for step in range(40):
        page.mouse.move(box["x"] + (0.5 + step / 100) * box["width"], y)
    page.mouse.up()
    page.wait_for_function("() => document.getElementById('status').textContent === ''")
    final = page.input_value("#code-0")
    assert most[0] == 1 and requests  # never a queue of previews: one at a time, the latest
    assert f"code={final}," in requests[-1]
