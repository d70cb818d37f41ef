"""Which Python packages must travel to the GPU machine as wheels: hidt's requirements (and
the `serve` extra's, once hidt_cli/serve exists) that its image lacks, their own requirements
likewise, and typer at the version the tests pass with here (the command line's option groups
and the tests' CliRunner lean on it, and the image's version is only known once a call prints
it). Each at the version installed here, so that one version of each travels.

    python benchmarks/gpu/wheels.py              # NAME==VERSION of each, for pip download
    python benchmarks/gpu/wheels.py --provided   # the names met that the image provides
"""

from __future__ import annotations

import importlib.metadata as metadata
import re
import sys
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
IMAGE = Path(__file__).with_name("image-packages.txt")
ALWAYS = ("typer",)
TARGET = {"python_version": "3.12", "python_full_version": "3.12.3", "sys_platform": "linux"}
TARGET |= {"platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix"}
TARGET |= {"implementation_name": "cpython", "platform_python_implementation": "CPython"}


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def image_packages() -> set[str]:
    lines = IMAGE.read_text().splitlines()
    return {normalised(line) for line in lines if line.strip() and not line.startswith("#")}


def project_requirements() -> list[str]:
    """hidt's own requirements that apply there (from the installed metadata of the
    distribution that holds hidt_cli: keep the editable install current), with the `serve`
    extra's once hidt_cli/serve exists."""
    extras = ["", "serve"] if (ROOT / "hidt_cli" / "serve").is_dir() else [""]
    (distribution, *_) = metadata.packages_distributions()["hidt_cli"]
    found = []
    for text in metadata.requires(distribution) or []:
        requirement = Requirement(text)
        if any(needed(requirement, extra) for extra in extras):
            found.append(normalised(requirement.name))
    return found


def needed(requirement: Requirement, extra: str = "") -> bool:
    """Whether a requirement applies on the GPU machine (its Python, Linux; `extra` asked)."""
    if requirement.marker is None:
        return True
    return requirement.marker.evaluate({**TARGET, "extra": extra})


def closure() -> tuple[dict[str, str], set[str]]:
    """(name → version of every package to carry, requirements of requirements included;
    the names met on the way that the image provides)."""
    image = image_packages()
    queue = project_requirements() + list(ALWAYS)
    carried: dict[str, str] = {}
    provided: set[str] = set()
    while queue:
        name = queue.pop()
        if name in carried or name in provided:
            continue
        if name in image and name not in ALWAYS:
            provided.add(name)
            continue
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            sys.exit(f"{name}: not installed here, so its version is unknown (pip install it)")
        carried[name] = distribution.version
        for text in distribution.requires or []:
            requirement = Requirement(text)
            if needed(requirement):
                queue.append(normalised(requirement.name))
    return carried, provided


if __name__ == "__main__":
    carried, provided = closure()
    if sys.argv[1:] == ["--provided"]:
        print("\n".join(sorted(provided)))
    else:
        print("\n".join(f"{name}=={version}" for name, version in sorted(carried.items())))
