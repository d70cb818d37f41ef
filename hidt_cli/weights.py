"""Finding and loading weights safely.

A weights spec is a local file, a folder holding a generator and an enhancer, an
`hf://owner/repo/path/file[@revision]` reference, or nothing (the defaults shipped in
`weights/`). Published `.pt`/`.pth` checkpoints are read with `torch.load(weights_only=True)`
only, so a file that carries pickled code is refused instead of run. Our own `.safetensors`
files carry a JSON metadata block with the model config, style presets and provenance.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import pickle
import re
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from hidt_cli.models import Enhancer, EnhancerConfig, Generator, GeneratorConfig
from hidt_cli.styles import PUBLISHED_PRESETS

GENERATOR_NAMES = ("generator.safetensors", "daytime.pt", "generator.pt")
ENHANCER_NAMES = ("enhancer.safetensors", "enhancer.pth", "enhancer.pt")
MANIFEST = "manifest.json"
FORMAT_VERSION = "1"


class WeightsError(Exception):
    """A weights problem, phrased as one line for the user."""


@dataclass
class LoadedWeights:
    """A state dict with what is known about where it came from."""

    kind: str  # "generator" or "enhancer"
    state: dict[str, torch.Tensor]
    config: GeneratorConfig | EnhancerConfig
    source: str
    path: Path
    sha256: str
    format: str  # "published" or "safetensors"
    presets: dict[str, tuple[float, ...]] = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)

    def build(self) -> Generator | Enhancer:
        """The network with these weights, in float32, in eval mode."""
        net = Generator(self.config) if self.kind == "generator" else Enhancer(self.config)
        load_strict(net, self.state, self.path)
        return net.eval()


def default_weights_dir() -> Path:
    """`HIDT_WEIGHTS_DIR`, else `weights/` beside the package (source or editable install),
    else the copy a wheel installs under `<prefix>/share/hidt/weights`."""
    if env := os.environ.get("HIDT_WEIGHTS_DIR"):
        return Path(env)
    beside = Path(__file__).resolve().parent.parent / "weights"
    if beside.is_dir():
        return beside
    return Path(sys.prefix) / "share" / "hidt" / "weights"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------- resolving a spec to files


def resolve(spec: str | os.PathLike | None, kind: str) -> Path | None:
    """A weights spec → the local file for `kind` ("generator" or "enhancer").

    Returns None only for an enhancer that the spec does not provide (hi-res is then
    unavailable); a missing generator is an error that says how to get one.
    """
    names = GENERATOR_NAMES if kind == "generator" else ENHANCER_NAMES
    if spec is None or str(spec) == "":
        folder = default_weights_dir()
        found = _first_existing(folder, names)
        if found is None and kind == "generator":
            raise WeightsError(
                f"no default weights are installed in {folder}: pass --weights FILE|FOLDER|"
                "hf://owner/repo/file, or convert a published daytime.pt and enhancer.pth "
                "into that folder with 'hidt convert-weights' (see weights/README.md)"
            )
        return found
    text = str(spec)
    if text.startswith("hf://"):
        return _download(text)
    path = Path(text).expanduser()
    if path.is_dir():
        found = _first_existing(path, names)
        if found is None and kind == "generator":
            raise WeightsError(f"{path}: folder holds none of {', '.join(names)}")
        return found
    if not path.exists():
        raise WeightsError(f"{path}: no such weights file")
    return path


def _first_existing(folder: Path, names: tuple[str, ...]) -> Path | None:
    return next((folder / n for n in names if (folder / n).is_file()), None)


HUB_TIMEOUT_S = 5.0
"""How long the one request that asks the hub whether it answers may take: enough for a slow
link, short enough that an offline run says so at once (huggingface_hub on its own retries an
unreachable hub five times, for about 28 s, logging each try)."""
OFFLINE_HINT = (
    "to work offline, fetch the file once while online (it stays in the cache, then set "
    "HF_HUB_OFFLINE=1) or pass a local file with --weights"
)


def _download(url: str) -> Path:
    """hf://owner/repo/path/file[@revision] → a file in the Hugging Face cache."""
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    body, _, revision = url[len("hf://") :].partition("@")
    parts = body.split("/")
    if len(parts) < 3 or not all(parts):
        raise WeightsError(f"{url}: expected hf://owner/repo/file[@revision]")
    repo, filename = "/".join(parts[:2]), "/".join(parts[2:])
    try:
        path, online = _hub_file(repo, filename, revision or None)
    except LocalEntryNotFoundError:
        why = "HF_HUB_OFFLINE is set" if _offline() else "the hub cannot be reached"
        raise WeightsError(
            f"{url}: not in the local Hugging Face cache and {why}; {OFFLINE_HINT}"
        ) from None
    except (HfHubHTTPError, OSError, ValueError) as exc:
        raise WeightsError(f"{url}: download failed: {str(exc).splitlines()[0]}") from None
    _fetch_manifest(repo, filename, path, online)
    return path


def _hub_file(repo: str, filename: str, revision: str | None) -> tuple[Path, bool]:
    """From the hub when it answers one quick request, else from the local cache
    (LocalEntryNotFoundError when it is not there); and whether the hub answered."""
    from huggingface_hub import hf_hub_download, hf_hub_url

    with _quiet_hub():
        online = not _offline() and _hub_answers(hf_hub_url(repo, filename, revision=revision))
        path = hf_hub_download(repo, filename, revision=revision, local_files_only=not online)
    return Path(path), online


def _hub_answers(url: str) -> bool:
    """One request without retries: whether the hub answers at all (an answer such as 'no such
    file' counts; the download then says it)."""
    from huggingface_hub import get_hf_file_metadata
    from huggingface_hub.errors import HfHubHTTPError

    try:
        get_hf_file_metadata(url, timeout=HUB_TIMEOUT_S)
    except HfHubHTTPError as exc:
        status = getattr(exc.response, "status_code", None)
        return status is not None and status < 500
    except Exception:  # the HTTP library's network errors: requests' or httpx's, by version
        return False
    return True


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0", "false", "False")


@contextlib.contextmanager
def _quiet_hub():
    """huggingface_hub's log lines (retries, fallbacks) off: errors are said here, once."""
    logger = logging.getLogger("huggingface_hub")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _fetch_manifest(repo: str, filename: str, path: Path, online: bool) -> None:
    """Fetch the repo's manifest.json beside the file, if it has one, from the same commit (or,
    offline, take it from the cache): it lands next to the file in the snapshot folder, where
    load() verifies the file against it."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError

    folder = filename.rpartition("/")[0]
    commit = path.parents[filename.count("/")].name  # the cache's snapshots/<commit>/ folder
    manifest = f"{folder}/{MANIFEST}" if folder else MANIFEST
    with (
        _quiet_hub(),
        contextlib.suppress(
            EntryNotFoundError, LocalEntryNotFoundError, HfHubHTTPError, OSError, ValueError
        ),
    ):
        hf_hub_download(repo, manifest, revision=commit, local_files_only=not online)


# ---------------------------------------------------------------- reading files


KIND_PREFIXES = {"content_encoder.": "generator", "conv_first.": "enhancer"}


def detect_kind(state: dict[str, torch.Tensor], path: Path) -> str:
    """The network a state dict holds, from a key prefix only one of them has."""
    for key in state:
        for prefix, kind in KIND_PREFIXES.items():
            if key.startswith(prefix):
                return kind
    raise WeightsError(
        f"{path}: neither a HiDT generator nor an enhancer (no content_encoder.* or conv_first.* keys)"
    )


def load(path: Path, kind: str | None, source: str | None = None) -> LoadedWeights:
    """Read a generator or enhancer checkpoint (published pickle or our safetensors),
    verified against a manifest beside it when there is one; kind None reads it off the keys."""
    path = Path(path)
    digest = sha256_of(path)
    _verify_manifest(path, digest)
    container = "safetensors" if path.suffix == ".safetensors" else _container_of(path)
    if container is None:
        raise WeightsError(f"{path}: not a checkpoint: neither safetensors nor a PyTorch file")
    if container == "safetensors":
        state, meta = _read_safetensors(path)
        stored_kind = meta.get("hidt_kind")
        if stored_kind not in (None, "generator", "enhancer"):
            raise WeightsError(f"{path}: unknown hidt_kind {stored_kind!r} in its metadata")
        kind = kind or stored_kind or detect_kind(state, path)
        if (stored_kind or kind) != kind:
            raise WeightsError(f"{path}: holds a {stored_kind}, not a {kind}")
        presets, provenance = _read_metadata(meta, path)
        fmt = "safetensors"
    else:
        state = _read_published(path)
        kind = kind or detect_kind(state, path)
        presets = dict(PUBLISHED_PRESETS) if kind == "generator" else {}
        provenance, fmt = {}, "published"
    _check_finite(state, path)
    config = infer_config(state, kind, path)
    style_dim = getattr(config, "style_dim", None)  # an enhancer has no style codes
    if fmt == "safetensors" and any(len(code) != style_dim for code in presets.values()):
        raise WeightsError(f"{path}: its presets are not style codes of this network")
    return LoadedWeights(
        kind, state, config, source or str(path), path, digest, fmt, presets, provenance
    )


_PICKLE_OPENINGS = frozenset(b"c(}]LI")
"""Opcodes a protocol 0 or 1 pickle can start with (GLOBAL, MARK, EMPTY_DICT, EMPTY_LIST,
LONG, INT); protocol 2 and later start with PROTO (0x80) and the protocol's number."""


def _container_of(path: Path) -> str | None:
    """'safetensors', 'pytorch' (torch.save's zip, or its legacy pickle or tar) or None, from
    the first bytes: other files would reach torch's unpickler, whose refusal ("unsupported
    operand") reads as if the file carried code."""
    with open(path, "rb") as fh:
        head = fh.read(512)
    header_size = int.from_bytes(head[:8], "little")
    if head[8:9] == b"{" and 0 < header_size < os.path.getsize(path):
        return "safetensors"
    if head.startswith(b"PK\x03\x04") or head[257:262] == b"ustar":
        return "pytorch"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "pytorch"
    if head[:1] and head[0] in _PICKLE_OPENINGS:
        return "pytorch"
    return None


def _read_published(path: Path) -> dict[str, torch.Tensor]:
    try:
        # torch warns about odd pickle protocols of damaged files; the error below says it all.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise WeightsError(
            f"{path}: refused: the checkpoint holds pickled objects that are not plain tensors "
            f"(only weights_only loading is allowed){_unpickler_reason(str(exc))}"
        ) from None
    except (RuntimeError, OSError, EOFError, ValueError) as exc:
        raise WeightsError(
            f"{path}: not a readable PyTorch checkpoint ({_first_line(exc)})"
        ) from None
    except Exception:  # torch's unpickler meets damaged data with KeyError, IndexError, …
        raise WeightsError(
            f"{path}: not a readable PyTorch checkpoint (damaged pickle data)"
        ) from None
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(f"{path}: not a state dict of tensors")
    return {k.removeprefix("module."): v.float() for k, v in obj.items()}


def _unpickler_reason(message: str) -> str:
    """The line of torch's long unpickling message that names the refused object."""
    clean = re.sub(r"\x1b\[[0-9;]*m", "", message)
    line = next((ln for ln in clean.splitlines() if "Unsupported" in ln), "")
    return f": {line.split('error:')[-1].split(' was not')[0].strip()}" if line else ""


def read_verified_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """A safetensors file's tensors (as float32) and metadata, after checking its sha256
    against a manifest beside it when there is one: for other kinds of weights (the classifier)
    that share this file format and its checks."""
    _verify_manifest(path, sha256_of(path))
    return _read_safetensors(path)


def _read_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
            state = {k: fh.get_tensor(k).float() for k in fh.keys()}  # noqa: SIM118 - not a dict
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(
            f"{path}: not a readable safetensors file ({_first_line(exc)})"
        ) from None
    return state, meta


def _read_metadata(meta: dict[str, str], path: Path) -> tuple[dict[str, tuple[float, ...]], dict]:
    """Presets and provenance from our metadata, checked so that a damaged file fails here."""
    try:
        presets = json.loads(meta.get("presets", "{}"))
        provenance = json.loads(meta.get("provenance", "{}"))
        if not isinstance(presets, dict) or not isinstance(provenance, dict):
            raise ValueError("presets and provenance must be JSON objects")
        presets = {str(k): tuple(float(x) for x in v) for k, v in presets.items()}
        if not all(math.isfinite(x) for code in presets.values() for x in code):
            raise ValueError("a preset holds NaN or infinite values")
    except (ValueError, TypeError) as exc:
        raise WeightsError(f"{path}: unreadable metadata ({_first_line(exc)})") from None
    return presets, provenance


def _first_line(exc: BaseException) -> str:
    """Library messages can run to many lines; errors are shown as one."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _check_finite(state: dict[str, torch.Tensor], path: Path) -> None:
    for key, value in state.items():
        if value.numel() == 0:  # network sizes are read off the shapes: no empty layers
            raise WeightsError(f"{path}: {key} is empty")
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise WeightsError(f"{path}: {key} contains NaN or infinite values")


def load_strict(net: torch.nn.Module, state: dict[str, torch.Tensor], path: Path) -> None:
    """load_state_dict with a one-line error that names the first offending key."""
    expected = net.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing:
        raise WeightsError(f"{path}: missing key {missing[0]} ({len(missing)} missing)")
    if unexpected:
        raise WeightsError(f"{path}: unexpected key {unexpected[0]} ({len(unexpected)} unexpected)")
    for key, value in expected.items():
        if state[key].shape != value.shape:
            raise WeightsError(
                f"{path}: {key} has shape {tuple(state[key].shape)}, expected {tuple(value.shape)}"
            )
    net.load_state_dict(state)


def _verify_manifest(path: Path, digest: str) -> None:
    manifest = path.parent / MANIFEST
    if not manifest.is_file():
        return
    try:
        entry = json.loads(manifest.read_text())["files"].get(path.name, {})
        expected = str(entry.get("sha256") or "")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise WeightsError(f"{manifest}: unreadable manifest ({_first_line(exc)})") from None
    if expected and expected != digest:
        raise WeightsError(
            f"{path}: sha256 {digest[:12]}… does not match {MANIFEST} ({expected[:12]}…); "
            "the file is corrupt or was replaced"
        )


# ---------------------------------------------------------------- configs from shapes


def infer_config(state: dict[str, torch.Tensor], kind: str, path: Path):
    """Network sizes read off the tensor shapes, so published and tiny checkpoints alike load
    without a separate config file."""
    try:
        config = GeneratorConfig if kind == "generator" else EnhancerConfig
        return config.from_state(state)
    except KeyError as exc:
        raise WeightsError(f"{path}: not a HiDT {kind} checkpoint (missing key {exc})") from None
    except IndexError:  # a tensor with fewer dimensions than its key's layer has
        raise WeightsError(
            f"{path}: not a HiDT {kind} checkpoint (a tensor of the wrong rank)"
        ) from None


# ---------------------------------------------------------------- writing our format


def save_safetensors(
    path: Path,
    net: Generator | Enhancer | dict[str, torch.Tensor],
    kind: str,
    *,
    presets: dict[str, tuple[float, ...]] | None = None,
    provenance: dict | None = None,
    half: bool = False,
) -> str:
    """Write weights with their metadata atomically; returns the file's sha256."""
    state = net.state_dict() if isinstance(net, torch.nn.Module) else net
    dtype = torch.float16 if half else torch.float32
    tensors = {k: v.detach().to("cpu", dtype).contiguous() for k, v in state.items()}
    meta = {
        "format": "hidt",
        "format_version": FORMAT_VERSION,
        "hidt_kind": kind,
        "presets": json.dumps({k: list(v) for k, v in (presets or {}).items()}),
        "provenance": json.dumps(provenance or {}),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        save_file(tensors, str(tmp), metadata=meta)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return sha256_of(path)


def write_manifest(folder: Path) -> Path:
    """(Re)write `manifest.json` listing every .safetensors file in folder with its sha256."""
    files = {
        p.name: {"sha256": sha256_of(p), "bytes": p.stat().st_size}
        for p in sorted(folder.glob("*.safetensors"))
    }
    manifest = folder / MANIFEST
    manifest.write_text(json.dumps({"files": files}, indent=2) + "\n")
    return manifest


def parameter_count(state: dict[str, torch.Tensor]) -> int:
    """Learned parameters (AdaIN running statistics are buffers, not parameters)."""
    buffers = ("running_mean", "running_var", "num_batches_tracked")
    return sum(v.numel() for k, v in state.items() if not k.endswith(buffers))
