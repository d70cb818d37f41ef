"""What keeps `hidt serve` safe to run: loopback by default, a token otherwise, no request
reaching a file it was not given (FOLDER's photos by id only; traversal refused, watched with
an audit hook on every file the process opens), Host and Origin checks, memory and disk within
their budgets, and Ctrl-C that stops the server and removes its temporary files."""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("starlette", reason="hidt serve needs the serve extra: pip install -e .[serve]")

from hidt_cli.serve.app import warnings_for  # noqa: E402
from hidt_cli.serve.security import is_loopback, required_token  # noqa: E402
from hidt_cli.serve.settings import ServeSettings  # noqa: E402
from hidt_cli.serve.store import LruCache, display_name  # noqa: E402
from tests.conftest import hidt_process_command, interruptible  # noqa: E402
from tests.images import encoded, make_photo  # noqa: E402
from tests.serve_client import Client, running  # noqa: E402


def raw_get(port: int, target: str, headers: dict | None = None) -> tuple[int, bytes]:
    """A GET of exactly this request target (no client-side clean-up of '..')."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.putrequest("GET", target, skip_accept_encoding=True)
    for key, value in (headers or {}).items():
        connection.putheader(key, value)
    connection.endheaders()
    response = connection.getresponse()
    return response.status, response.read()


# ------------------------------------------------------------------ who may connect


def test_loopback_is_the_default_and_needs_no_token():
    assert ServeSettings().host == "127.0.0.1"
    assert required_token("127.0.0.1", None) is None
    assert warnings_for(ServeSettings()) == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"])
def test_loopback_addresses(host):
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "studio.example"])
def test_other_hosts_get_a_random_token_and_a_warning(host):
    assert not is_loopback(host)
    token = required_token(host, None)
    assert token and len(token) >= 20 and token != required_token(host, None)
    assert required_token(host, "mine") == "mine"
    (warning,) = warnings_for(ServeSettings(host=host, token=token))
    assert host in warning and "token" in warning


def test_the_server_listens_on_loopback(model):
    with running(model, inference_size=32) as (server, client):
        assert server.socket.getsockname()[0] == "127.0.0.1"
        assert server.url == f"http://127.0.0.1:{server.port}/"


def test_with_a_token_every_request_needs_it(model):
    with running(model, inference_size=32, token="s3cret-token") as (server, client):
        anonymous = Client(client.base)
        reply = anonymous.get("/api/styles")
        assert reply.status == 401 and "token" in reply.json()["error"]
        assert anonymous.get("/", {"authorization": "Bearer wrong"}).status == 401
        assert client.get("/api/styles").status == 200  # Authorization: Bearer
        assert anonymous.get("/api/styles?token=s3cret-token").status == 200
        # the printed URL sets a cookie and drops the token from the address bar
        assert server.url.endswith("/?token=s3cret-token")
        reply = anonymous.get("/?token=s3cret-token")
        assert reply.status == 303 and reply.headers["location"] == "/"
        cookie = reply.headers["set-cookie"].split(";")[0]
        assert "HttpOnly" in reply.headers["set-cookie"]
        assert anonymous.get("/api/styles", {"cookie": cookie}).status == 200


def test_other_names_and_other_sites_are_refused(model):
    with running(model, inference_size=32) as (server, client):
        reply = client.get("/api/styles", {"host": "studio.example:8023"})
        assert reply.status == 403 and "not this machine" in reply.json()["error"]
        reply = client.get("/api/styles", {"origin": "http://evil.example"})
        assert reply.status == 403 and "evil.example" in reply.json()["error"]
        same = f"http://127.0.0.1:{server.port}"
        assert client.get("/api/styles", {"origin": same}).status == 200
        assert client.get("/api/styles", {"host": f"localhost:{server.port}"}).status == 200


def test_responses_carry_the_security_headers(model):
    with running(model, inference_size=32) as (_, client):
        for path in ("/", "/api/styles", "/static/studio.js", "/api/nothing"):
            headers = client.get(path).headers
            assert headers["x-content-type-options"] == "nosniff", path
            assert "default-src 'self'" in headers["content-security-policy"], path
            assert headers["x-frame-options"] == "DENY", path


# ------------------------------------------------------------------ files


@pytest.fixture
def folder(tmp_path) -> Path:
    """FOLDER with two photos, a sub-folder, a non-image, and a symlink to a photo outside it
    (which must not be offered); a secret photo beside it."""
    root = tmp_path / "shoot"
    (root / "day2").mkdir(parents=True)
    Image.fromarray(make_photo(seed=1)).save(root / "a.jpg")
    Image.fromarray(make_photo(seed=2)).save(root / "day2" / "b.png")
    (root / "notes.txt").write_text("not a photo")
    Image.fromarray(make_photo(seed=3)).save(tmp_path / "secret.png")
    (root / "link.png").symlink_to(tmp_path / "secret.png")
    return root


class OpenedFiles:
    """Every path this process opens while recording (an audit hook cannot be removed, so
    one hook records into whichever instance is active)."""

    active: OpenedFiles | None = None
    installed = False

    def __init__(self) -> None:
        self.paths: list[str] = []

    def __enter__(self) -> OpenedFiles:
        if not OpenedFiles.installed:
            sys.addaudithook(_record_open)
            OpenedFiles.installed = True
        OpenedFiles.active = self
        return self

    def __exit__(self, *_: object) -> None:
        OpenedFiles.active = None


def _record_open(event: str, args: tuple) -> None:
    recorder = OpenedFiles.active
    if recorder is not None and event == "open" and isinstance(args[0], (str, bytes, Path)):
        recorder.paths.append(os.path.realpath(os.fsdecode(args[0])))


def test_folder_photos_are_offered_by_id_and_nothing_outside_is_read(model, folder, tmp_path):
    secret = str(tmp_path / "secret.png")
    targets = [
        "/static/../pyproject.toml",
        "/static/%2e%2e/%2e%2e/%2e%2e/pyproject.toml",
        "/static/..%2f..%2f..%2fpyproject.toml",
        "/static//etc/passwd",
        f"/static/{secret}",
        "/api/photos/..%2f..%2fsecret.png",
        "/api/photos/..%2F..%2Fsecret.png/original",
        f"/api/photos/{secret.replace('/', '%2F')}/original",
        "/api/photos/link.png/original",
        "/api/photos/a.jpg/preview?preset=night",
        "/..%2f..%2fsecret.png",
    ]
    with running(model, inference_size=32, folder=folder) as (server, client):
        listed = client.get("/api/photos").json()["photos"]
        assert sorted(p["name"] for p in listed) == ["a.jpg", "day2/b.png"]
        assert all(re.fullmatch(r"[0-9a-f]{16}", p["id"]) for p in listed)
        with OpenedFiles() as opened:
            for target in targets:
                status, body = raw_get(server.port, target)
                assert status in (400, 404), (target, status, body)
            for photo in listed:
                reply = client.get(f"/api/photos/{photo['id']}/preview?preset=night")
                assert reply.status == 200
        assert secret not in opened.paths
        assert not any(p.endswith(("pyproject.toml", "passwd")) for p in opened.paths)
        assert str(folder / "a.jpg") in opened.paths or any("a.jpg" in p for p in opened.paths)


def test_upload_names_cannot_name_paths():
    assert display_name("../../etc/passwd") == "passwd"
    assert display_name("C:\\Users\\me\\IMG_1.JPG") == "IMG_1.JPG"
    assert display_name('a"\x00\n<b>.png') == "ab.png"
    assert display_name("..") == "upload" and display_name(None) == "upload"


# ------------------------------------------------------------------ memory and disk


def test_the_lru_keeps_the_recent_within_its_budget():
    cache = LruCache(100)
    for key in "abcd":
        cache.put(key, key.upper(), 30)
    assert cache.keys() == ["b", "c", "d"] and cache.total_bytes == 90
    assert cache.get("b") == "B"  # now the most recent
    cache.put("e", "E", 30)
    assert cache.keys() == ["d", "b", "e"]
    cache.put("huge", "H", 500)  # alone over budget: kept, everything else goes
    assert cache.keys() == ["huge"] and cache.get("a") is None


def test_memory_stays_within_the_cache_budget(model):
    budget = 120_000  # about four of these photos with their copies
    with running(model, inference_size=32, cache_bytes=budget) as (server, client):
        ids = []
        for seed in range(12):
            files = {"image": (f"p{seed}.png", encoded(make_photo(96, 96, seed=seed)))}
            ids.append(client.post_form("/api/photos", files=files).json()["id"])
            assert server.studio.engine.cache.total_bytes <= budget
        first = client.get(f"/api/photos/{ids[0]}/preview?preset=night")
        assert first.status == 200  # decoded again from the kept upload
        assert server.studio.engine.cache.total_bytes <= budget


def test_old_uploads_are_dropped_beyond_the_stash_budget(model):
    data = encoded(make_photo())
    with running(model, inference_size=32, stash_bytes=len(data) * 3) as (server, client):
        ids = [
            client.post_form("/api/photos", files={"image": ("p.png", data)}).json()["id"]
            for _ in range(5)
        ]
        assert client.get(f"/api/photos/{ids[0]}").status == 404
        assert "open it again" in client.get(f"/api/photos/{ids[0]}").json()["error"]
        assert client.get(f"/api/photos/{ids[-1]}").status == 200
        assert len(list(server.studio.folder.glob("upload-*"))) == 3


# ------------------------------------------------------------------ stopping


def test_ctrl_c_stops_the_server_and_removes_its_files(tiny_weights, folder, tmp_path):
    temp = tmp_path / "tmp"
    temp.mkdir()
    command = hidt_process_command("serve", tiny_weights, folder, "--port", "0")
    env = {**os.environ, "TMPDIR": str(temp)}
    process = interruptible(command, stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines = []
        for line in process.stderr:
            lines.append(line)
            if "hidt studio: http://" in line:
                break
        url = re.search(r"http://\S+", lines[-1]).group(0)
        assert url.startswith("http://127.0.0.1:"), lines
        assert any("2 photos offered by id" in line for line in lines), lines
        client = Client(url)
        upload = client.post_form("/api/photos", files={"image": ("p.png", encoded(make_photo()))})
        photo_id = upload.json()["id"]
        job = client.post_json(
            "/api/jobs/timelapse", {"photo": photo_id, "keyframes": "day,night", "frames": 200}
        )
        assert job.status == 202
        assert [p.name for p in temp.iterdir()][0].startswith("hidt-serve-")
        process.send_signal(signal.SIGINT)
        rest = threading.Thread(target=lambda: lines.extend(process.stderr))
        rest.start()
        assert process.wait(timeout=60) == 0, "".join(lines)
        rest.join()
    finally:
        if process.poll() is None:
            process.kill()
    assert list(temp.iterdir()) == []
    assert "Traceback" not in "".join(lines)
    assert np.all([not line.startswith("ERROR") for line in lines])
