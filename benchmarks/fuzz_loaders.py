"""A long fuzz campaign over the loaders of untrusted files, with the fuzz corpus that the
tests run briefly (tests/fuzz_corpus.py): each image format through `read_image` and each
checkpoint format through `weights.load` (then building the network). Every exception other
than ImageError / WeightsError is recorded and the campaign goes on; the exit code is 1 if
there were any. Run it as a module from the repository root, which makes `tests` importable:

    python -m benchmarks.fuzz_loaders --count 20000
    python -m benchmarks.fuzz_loaders --count 500 --only png --only .pt
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings

from tests import fuzz_corpus as corpus


def campaign(
    name: str, seed: bytes, target: Callable[[bytes], None], count: int
) -> tuple[int, list[str]]:
    """Run `count` mutations of `seed` through `target`; return the cases tried and failures."""
    tried = 0
    failures: list[str] = []

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(edits=corpus.MUTATIONS)
    def case(edits):
        nonlocal tried
        tried += 1
        try:
            target(corpus.mutate(seed, edits))
        except Exception as exc:  # noqa: BLE001 - a finding, recorded with its reproducer
            where = traceback.extract_tb(exc.__traceback__)[-1]
            failures.append(
                f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
                f"at {Path(where.filename).name}:{where.lineno}; edits={edits!r}"
            )

    case()
    return tried, failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000, help="cases per target")
    parser.add_argument(
        "--only", action="append", help="a target to run (png, jpeg, gif, webp, .pt, .safetensors)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        targets: dict[str, tuple[bytes, Callable[[bytes], None]]] = {
            **{
                f: (corpus.image_seeds()[f], corpus.read_image_target) for f in corpus.IMAGE_FORMATS
            },
            **{
                f: (
                    corpus.weights_seeds()[f],
                    lambda data, path=Path(folder) / f"fuzz{f}": corpus.load_weights_target(
                        data, path
                    ),
                )
                for f in corpus.WEIGHTS_FORMATS
            },
        }
        failed = 0
        print(f"{'target':<14}{'cases':>8}{'failures':>10}{'seconds':>10}")
        for name, (seed, target) in targets.items():
            if args.only and name not in args.only:
                continue
            started = time.perf_counter()
            tried, failures = campaign(name, seed, target, args.count)
            print(f"{name:<14}{tried:>8}{len(failures):>10}{time.perf_counter() - started:>10.1f}")
            for line in failures:
                print(f"  {line}")
            failed += len(failures)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
