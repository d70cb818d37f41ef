"""Make docs/studio.png: hidt studio in headless Chromium with the default weights and one
photo opened, the night preset picked.

    python docs/studio_screenshot.py examples/lake-sherburne.jpg

(the shipped example photo, examples/README.md). Needs the
serve extra, Playwright and Debian's chromium.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

import hidt_cli
from hidt_cli.serve.app import Server
from hidt_cli.serve.settings import ServeSettings

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
CHROMIUM_ARGS += ["--disable-component-update", "--disable-sync", "--no-first-run"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo", type=Path)
    parser.add_argument("-o", "--output", type=Path, default=Path(__file__).with_name("studio.png"))
    parser.add_argument("--preset", default="night")
    args = parser.parse_args()
    server = Server(hidt_cli.load(device="cpu"), ServeSettings(port=0))
    with server.in_thread(), sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.set_default_timeout(300_000)
        page.goto(server.url)
        page.wait_for_selector("body[data-ready=true]")
        page.set_input_files("#open-input", str(args.photo))
        page.wait_for_selector(f".tile[data-preset='{args.preset}']")
        # the preset's preview is in the browser's cache since the photo opened: ask the
        # server again, so that the time shown is a render's
        devtools = page.context.new_cdp_session(page)
        devtools.send("Network.enable")
        devtools.send("Network.setCacheDisabled", {"cacheDisabled": True})
        shown = int(page.get_attribute("#after", "data-shown") or 0)
        page.click(f".tile[data-preset='{args.preset}']")
        page.wait_for_function(
            f"() => Number(document.getElementById('after').dataset.shown) > {shown}"
        )
        page.fill("#split", "46")
        page.screenshot(path=str(args.output))
        browser.close()
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
