"""`hidt serve` on the command line: the rest of the CLI works without the serve extra, a
missing extra or a bad option is one line, and the server is imported only when it runs."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tests.conftest import invoke, run_hidt


def test_the_cli_does_not_import_the_server():
    code = (
        "import sys, hidt_cli.cli.app; "
        "print(sorted(m for m in ('starlette', 'uvicorn', 'hidt_cli.serve.app') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_without_the_extra_serve_says_how_to_install_it_and_translate_still_works(
    tiny_weights, photo, monkeypatch
):
    import hidt_cli.serve

    # as if uvicorn were missing: the module cannot be imported (nor found on its package)
    monkeypatch.setitem(sys.modules, "hidt_cli.serve.app", None)
    monkeypatch.delattr(hidt_cli.serve, "app", raising=False)
    result = invoke("serve", "--weights", tiny_weights, "--device", "cpu")
    assert result.exit_code == 2
    assert "pip install -e '.[serve]'" in result.output and "Traceback" not in result.output
    translated = run_hidt("translate", tiny_weights, photo, "--preset", "night")
    assert translated.exit_code == 0, translated.output
    assert (photo.parent / "photo_night.jpg").is_file()


def test_a_missing_folder_is_named(tiny_weights, tmp_path):
    result = invoke("serve", tmp_path / "nowhere", "--weights", tiny_weights, "--device", "cpu")
    assert result.exit_code == 4
    assert f"{tmp_path / 'nowhere'}: not a folder" in result.output


def test_a_port_in_use_is_named(tiny_weights):
    pytest.importorskip(
        "uvicorn", reason="hidt serve needs the serve extra: pip install -e .[serve]"
    )
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = invoke("serve", "--port", port, "--weights", tiny_weights, "--device", "cpu")
    assert result.exit_code == 2
    assert f"127.0.0.1:{port}: cannot listen" in result.output and "--port" in result.output


def test_a_bad_inference_size_is_refused_before_loading(tmp_path):
    result = invoke("serve", "--inference-size", 40, "--weights", tmp_path / "missing.safetensors")
    assert result.exit_code == 2 and "multiple of 16" in result.output
