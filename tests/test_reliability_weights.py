"""Weights from places that are not trusted: `hidt info` shows the sha256 to check by hand,
Hugging Face downloads are verified against the repo's manifest, and damaged files (shapes
found by fuzzing the loader) are refused as WeightsError with one line and exit code 3."""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import shutil
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import huggingface_hub
import pytest
import torch
from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError
from safetensors import safe_open
from safetensors.torch import save_file

from hidt_cli.models import Generator
from hidt_cli.weights import MANIFEST, WeightsError, load, resolve, save_safetensors
from tests.conftest import TINY_GENERATOR, invoke, offline_hub_environment
from tests.fuzz_corpus import random_weights_bytes

COMMIT = "c" * 40


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def info(spec: object):
    return invoke("info", "--weights", spec, "--device", "cpu")


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_info_prints_the_sha256_of_a_file_from_anywhere(tiny_weights, tmp_path, suffix):
    untrusted = tmp_path / "downloads" / f"someones_weights{suffix}"
    untrusted.parent.mkdir()
    if suffix == ".pt":
        torch.save(load(tiny_weights / "generator.safetensors", "generator").state, untrusted)
    else:
        shutil.copy(tiny_weights / "generator.safetensors", untrusted)
    result = info(untrusted)
    assert result.exit_code == 0, result.output
    assert f"  sha256      {sha256(untrusted)}" in result.stdout.splitlines()
    assert f"  path        {untrusted}" in result.stdout.splitlines()
    assert "enhancer: none" in result.stdout


# --- Hugging Face ---------------------------------------------------------------------------


def hand_made_cache(cache: Path, files: dict[str, bytes]) -> Path:
    """The hub cache layout: blobs named by content, snapshot entries linking to them."""
    repo = cache / "models--someone--hidt-weights"
    snapshot = repo / "snapshots" / COMMIT
    for folder in (snapshot, repo / "blobs", repo / "refs"):
        folder.mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(COMMIT)
    for name, data in files.items():
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        (snapshot / name).symlink_to(os.path.relpath(blob, snapshot))
    return snapshot


def info_offline(spec: str, cache: Path) -> subprocess.CompletedProcess:
    """`hidt info` in a process that finds hub weights only in `cache`."""
    command = [sys.executable, "-m", "hidt_cli", "info", "--weights", spec, "--device", "cpu"]
    env = offline_hub_environment(cache)
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def tampered(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 1])


@pytest.mark.parametrize("damage", [False, True])
def test_cached_hub_file_is_checked_against_the_manifest_beside_it(tiny_weights, tmp_path, damage):
    generator = (tiny_weights / "generator.safetensors").read_bytes()
    manifest = (tiny_weights / MANIFEST).read_bytes()
    snapshot = hand_made_cache(
        tmp_path / "hub",
        {"generator.safetensors": tampered(generator) if damage else generator, MANIFEST: manifest},
    )
    result = info_offline("hf://someone/hidt-weights/generator.safetensors", tmp_path / "hub")
    if damage:
        assert result.returncode == 3
        assert result.stderr.splitlines() == [
            f"hidt: error: {snapshot / 'generator.safetensors'}: sha256 "
            f"{hashlib.sha256(tampered(generator)).hexdigest()[:12]}… does not match manifest.json "
            f"({hashlib.sha256(generator).hexdigest()[:12]}…); the file is corrupt or was replaced"
        ]
    else:
        assert result.returncode == 0, result.stderr
        assert hashlib.sha256(generator).hexdigest() in result.stdout


class FakeHub:
    """hf_hub_download against an in-memory repo: files land in a snapshot folder as they do
    in the real cache, and the requests are recorded; `cached` are the files already in the
    local cache, all that `local_files_only` may give."""

    def __init__(self, root: Path, files: dict[str, bytes], cached: tuple[str, ...] = ()) -> None:
        self.snapshot = root / "snapshots" / COMMIT
        self.files = files
        self.cached = cached
        self.requests: list[tuple[str, str, str | None]] = []
        self.from_cache: list[str] = []

    def __call__(
        self,
        repo_id: str,
        filename: str,
        revision: str | None = None,
        local_files_only: bool = False,
    ) -> str:
        if local_files_only:
            self.from_cache.append(filename)
            if filename not in self.cached:
                raise LocalEntryNotFoundError(f"{filename} is not in the cache")
        else:
            self.requests.append((repo_id, filename, revision))
        if filename not in self.files:
            raise EntryNotFoundError(f"{filename} is not in {repo_id}")
        target = self.snapshot / filename
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(self.files[filename])
        return str(target)


@pytest.fixture
def hub_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hub answers the one quick request that asks whether it is reachable."""
    monkeypatch.setattr(huggingface_hub, "get_hf_file_metadata", lambda url, timeout: None)


@pytest.fixture
def hub_unreachable(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """No network: the quick request fails as the HTTP library fails (its own error type)."""
    asked: list[str] = []

    def unreachable(url: str, timeout: float) -> None:
        asked.append(url)
        raise ConnectionError("[Errno -2] Name or service not known")

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub, "get_hf_file_metadata", unreachable)
    return asked


@pytest.mark.parametrize("folder", ["", "v1/"])
def test_download_fetches_the_manifest_of_the_same_commit(
    tiny_weights, tmp_path, monkeypatch, folder, hub_answers
):
    generator = (tiny_weights / "generator.safetensors").read_bytes()
    hub = FakeHub(
        tmp_path,
        {
            f"{folder}generator.safetensors": tampered(generator),
            f"{folder}{MANIFEST}": (tiny_weights / MANIFEST).read_bytes(),
        },
    )
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", hub)
    path = resolve(f"hf://someone/hidt-weights/{folder}generator.safetensors", "generator")
    assert hub.requests == [
        ("someone/hidt-weights", f"{folder}generator.safetensors", None),
        ("someone/hidt-weights", f"{folder}{MANIFEST}", COMMIT),
    ]
    with pytest.raises(WeightsError, match="does not match manifest.json"):
        load(path, "generator")


def test_download_without_a_manifest_in_the_repo_loads(
    tiny_weights, tmp_path, monkeypatch, hub_answers
):
    generator = (tiny_weights / "generator.safetensors").read_bytes()
    hub = FakeHub(tmp_path, {"generator.safetensors": generator})
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", hub)
    path = resolve("hf://someone/hidt-weights/generator.safetensors", "generator")
    assert load(path, "generator").sha256 == hashlib.sha256(generator).hexdigest()


def test_an_unreachable_hub_is_one_quick_request_then_one_line(
    tiny_weights, tmp_path, monkeypatch, hub_unreachable
):
    hub = FakeHub(tmp_path, {"generator.safetensors": b"never fetched"})
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", hub)
    with pytest.raises(WeightsError) as caught:
        resolve("hf://someone/hidt-weights/generator.safetensors", "generator")
    assert str(caught.value) == (
        "hf://someone/hidt-weights/generator.safetensors: not in the local Hugging Face cache "
        "and the hub cannot be reached; to work offline, fetch the file once while online (it "
        "stays in the cache, then set HF_HUB_OFFLINE=1) or pass a local file with --weights"
    )
    assert len(hub_unreachable) == 1  # one request, no retries
    assert hub.requests == [] and hub.from_cache == ["generator.safetensors"]


def test_an_unreachable_hub_still_gives_a_cached_file(
    tiny_weights, tmp_path, monkeypatch, hub_unreachable
):
    generator = (tiny_weights / "generator.safetensors").read_bytes()
    hub = FakeHub(tmp_path, {"generator.safetensors": generator}, cached=("generator.safetensors",))
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", hub)
    path = resolve("hf://someone/hidt-weights/generator.safetensors", "generator")
    assert path.read_bytes() == generator and hub.requests == []


def test_an_unreachable_hub_through_the_real_library_prints_one_line(tmp_path):
    """huggingface_hub itself, pointed at a closed port: no retry lines, one error line."""
    env = {
        **{k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"},
        "HF_ENDPOINT": "http://127.0.0.1:9",
        "HF_HUB_CACHE": str(tmp_path / "hub"),
        "HF_HOME": str(tmp_path),
    }
    spec = "hf://someone/hidt-weights/generator.safetensors"
    command = [sys.executable, "-m", "hidt_cli", "info", "--weights", spec, "--device", "cpu"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 3
    assert result.stderr.splitlines() == [
        f"hidt: error: {spec}: not in the local Hugging Face cache and the hub cannot be "
        "reached; to work offline, fetch the file once while online (it stays in the cache, "
        "then set HF_HUB_OFFLINE=1) or pass a local file with --weights"
    ]


# --- damaged files -------------------------------------------------------------------------


@pytest.fixture
def state() -> dict[str, torch.Tensor]:
    torch.manual_seed(2)
    return Generator(TINY_GENERATOR).state_dict()


def with_metadata(path: Path, state, **changes: str) -> Path:
    save_safetensors(path, state, "generator", presets={"night": (-0.5, -1.0, -1.0)})
    with safe_open(str(path), framework="pt") as fh:
        meta = {**fh.metadata(), **changes}
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118 - not a dict
    save_file(tensors, str(path), metadata=meta)
    return path


def pickle_replaced(state, pickle_bytes: bytes) -> bytes:
    """A torch zip checkpoint whose data.pkl is replaced."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            target.writestr(name, pickle_bytes if name.endswith("data.pkl") else source.read(name))
    return out.getvalue()


DAMAGED = {
    "presets_not_json": ("presets", '{"night": [1, 2,'),
    "presets_not_numbers": ("presets", '{"night": "dark"}'),
    "presets_nan": ("presets", '{"night": [NaN, 0, 0]}'),
    "presets_wrong_length": ("presets", '{"night": [1, 2]}'),
    "provenance_a_list": ("provenance", "[1, 2]"),
    "unknown_kind": ("hidt_kind", "discriminator"),
}


@pytest.mark.parametrize("case", sorted(DAMAGED))
def test_damaged_safetensors_metadata_is_refused(tmp_path, state, case):
    key, value = DAMAGED[case]
    path = with_metadata(tmp_path / "g.safetensors", state, **{key: value})
    with pytest.raises(
        WeightsError, match=r"g\.safetensors: (unreadable metadata|its presets|unknown)"
    ):
        load(path, None)


def test_damaged_pickle_is_refused_not_crashed(tmp_path, state):
    path = tmp_path / "g.pt"
    path.write_bytes(pickle_replaced(state, b"\x80\x02h\x05."))  # BINGET of a missing memo
    with pytest.raises(WeightsError, match=r"g\.pt: not a readable PyTorch checkpoint"):
        load(path, None)
    result = info(path)
    assert result.exit_code == 3 and "Traceback" not in result.output
    assert result.stderr.splitlines() == [
        f"hidt: error: {path}: not a readable PyTorch checkpoint (damaged pickle data)"
    ]


@pytest.mark.parametrize("content", [random_weights_bytes(), b"", b"\x00" * 64, b"not weights"])
def test_a_file_of_no_checkpoint_format_says_what_it_is_not(tmp_path, content):
    path = tmp_path / "random.bin"
    path.write_bytes(content)
    with pytest.raises(WeightsError) as caught:
        load(path, None)
    assert str(caught.value) == f"{path}: not a checkpoint: neither safetensors nor a PyTorch file"
    result = info(path)
    assert result.exit_code == 3 and "Traceback" not in result.output
    assert result.stderr.splitlines() == [f"hidt: error: {caught.value}"]


def test_a_checkpoint_is_known_by_its_bytes_not_its_name(tmp_path, state):
    save_safetensors(tmp_path / "g.safetensors", state, "generator")
    shutil.copy(tmp_path / "g.safetensors", tmp_path / "model.bin")
    assert load(tmp_path / "model.bin", None).format == "safetensors"
    torch.save(state, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    assert load(tmp_path / "legacy.pt", None).format == "published"


class RunsCode:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_a_plain_pickle_carrying_code_stays_refused(tmp_path, protocol):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"content_encoder.x": RunsCode(marker)}, protocol=protocol))
    with pytest.raises(WeightsError, match="refused: the checkpoint holds pickled objects"):
        load(path, None)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [(torch.tensor(1.0), "a tensor of the wrong rank"), (torch.zeros(0, 3, 9, 9), "is empty")],
)
def test_tensor_of_the_wrong_rank_or_empty_is_refused(tmp_path, state, value, message):
    state["content_encoder.model_preparation.0.conv.weight"] = value
    torch.save(state, tmp_path / "g.pt")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nor a stray warning from building an empty layer
        with pytest.raises(WeightsError, match=message):
            load(tmp_path / "g.pt", None).build()


@pytest.mark.parametrize("files", ["[]", '{"generator.safetensors": "abc"}', '"x"'])
def test_damaged_manifest_is_refused(tiny_weights, tmp_path, files):
    folder = tmp_path / "w"
    shutil.copytree(tiny_weights, folder)
    (folder / MANIFEST).write_text(json.dumps({"files": json.loads(files)}))
    with pytest.raises(WeightsError, match=r"manifest\.json: unreadable manifest"):
        load(folder / "generator.safetensors", "generator")
