"""Score candidate generator weights on the held-out split the way the model card's table
does, beside today's defaults scored the same way in the same run, and say whether the
candidate may ship (both Lab L1 columns better than today's).

    python benchmarks/gpu/score_weights.py runs/gpu/generator.safetensors --out /tmp/score
    python benchmarks/gpu/score_weights.py W --quick    # 2 frames a scene, 1 photo a group

The card's commands (weights/README.md, "How they were trained"): `hidt evaluate-paired
HELD_OUT_SCENES --frames-per-scene 8 -w W` on a folder with the three held-out scene folders
(training/heldout-scenes.json) gives the Lab L1 and SSIM columns, all pairs and day↔night;
`hidt evaluate CONTENTS --styles STYLES --random 4 -w W` on 52 held-out photos (6 per source
and class) and 16 style photos gives hit rate, IS/CIS of swaps, the prior cast and the
chroma kept. Which 52 and which 16 the card used is not recorded: here the first 6 of each
source-and-class group by file name, and the next 2 of each group with 8 or more as styles,
for every candidate and for today's weights alike. Both run on the CPU (`--device cpu`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from hidt_cli.photosets import LONG_EXPOSURES, TRANSLATOR_CLASS_RULES, class_of, held_out

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
PAIRED_ALL = "all frame pairs"
PAIRED_ACROSS = "pairs whose file names give different classes (e.g. day ↔ night)"


def main() -> None:
    args = parse_args()
    out = args.out
    scenes, contents, styles = held_out_sets(out, args.quick)
    rows = {}
    for label, weights in (("today's defaults", None), ("candidate", args.weights)):
        name = "defaults" if weights is None else "candidate"
        paired = run_json(
            ["evaluate-paired", str(scenes), "-o", str(out / f"paired-{name}")]
            + ["--frames-per-scene", "2" if args.quick else "8"],
            weights,
        )
        evaluated = run_json(
            ["evaluate", str(contents), "--styles", str(styles), "--random", "4"]
            + ["-o", str(out / f"evaluate-{name}")],
            weights,
        )
        rows[label] = (paired["summaries"], evaluated["metrics"])
    print(table(rows))
    today, candidate = (rows[k][0] for k in ("today's defaults", "candidate"))
    better = all(
        candidate[subset]["hidt"]["lab_l1"] < today[subset]["hidt"]["lab_l1"]
        for subset in (PAIRED_ALL, PAIRED_ACROSS)
    )
    print(
        "\nship: yes, both Lab L1 columns beat today's"
        if better
        else "\nship: no; the card gets the row and today's weights stay"
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("weights", help="the candidate generator (file or folder)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/hidt-score"), help="work folder")
    parser.add_argument("--quick", action="store_true", help="few frames and photos: a check")
    return parser.parse_args()


def held_out_sets(out: Path, quick: bool) -> tuple[Path, Path, Path]:
    """Folders of links: the held-out scenes, the content photos and the style photos."""
    split = json.loads((ROOT / "weights/training/heldout-scenes.json").read_text())["scenes"]
    frames = frozenset(f for names in split.values() for f in names)
    scenes = out / "scenes"
    for scene, names in split.items():
        for name in names:
            link(SHARED / "daytime" / name, scenes / scene / name)
    groups: dict[tuple[str, str | None], list[Path]] = defaultdict(list)
    for source in ("daytime", "daytime-extra"):
        for path in sorted((SHARED / source).glob("*.jpg")):
            if path.name in LONG_EXPOSURES or not held_out(path.name, frames):
                continue
            prefix = "-".join(path.name.split("-")[:2])
            groups[prefix, class_of(path.name, TRANSLATOR_CLASS_RULES)].append(path)
    per_group, per_style = (1, 1) if quick else (6, 2)
    for photos in groups.values():
        for path in photos[:per_group]:
            link(path, out / "contents" / path.name)
        if len(photos) >= per_group + per_style:
            for path in photos[per_group : per_group + per_style]:
                link(path, out / "styles" / path.name)
    return scenes, out / "contents", out / "styles"


def link(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.is_symlink():
        target.symlink_to(source)


def run_json(arguments: list[str], weights: str | None) -> dict:
    """A hidt command on the CPU with --json; its report as a dict."""
    command = [sys.executable, "-m", "hidt_cli", *arguments, "--device", "cpu", "--json", "-q"]
    if weights is not None:
        command += ["--weights", weights]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)}: exit {result.returncode}\n{result.stderr}")
    return json.loads(result.stdout)


def table(rows: dict[str, tuple[dict, dict]]) -> str:
    """The card's columns, one row per weights."""
    lines = [
        "| weights | Lab L1 all pairs ↓ | SSIM | Lab L1 day↔night ↓ | SSIM | hit rate "
        "| IS / CIS (swaps) | prior cast: mean \\|Δa*\\| / \\|Δb*\\| | chroma kept |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, (summaries, metrics) in rows.items():
        every, across = summaries[PAIRED_ALL]["hidt"], summaries[PAIRED_ACROSS]["hidt"]
        lines.append(
            f"| {label} | {every['lab_l1']:.2f} | {every['ssim']:.3f} | {across['lab_l1']:.2f} "
            f"| {across['ssim']:.3f} | {metrics.get('hit_rate', float('nan')):.2f} "
            f"| {metrics['is_swap']:.2f} / {metrics['cis_swap']:.2f} "
            f"| {metrics['prior_cast_a']:.1f} / {metrics['prior_cast_b']:.1f} "
            f"| {metrics['reconstruction_chroma_kept']:.2f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
