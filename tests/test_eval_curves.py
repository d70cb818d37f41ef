"""Training curves: logs of resumed runs read with the later record winning, and a picture
with one panel per logged term for several runs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hidt_cli.eval.curves import main, read_log
from hidt_cli.io.images import read_image

pytest.importorskip("matplotlib", reason="matplotlib (the 'eval' extra) draws the curves")


def write_log(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def test_a_resumed_run_keeps_the_later_record_of_a_step(tmp_path):
    log = tmp_path / "log.jsonl"
    write_log(
        log,
        [
            {"step": 50, "rec": 0.3},
            {"step": 100, "rec": 0.2},
            {"step": 100, "rec": 0.25},  # logged again after a resume from step 50
            {"step": 150, "rec": 0.1},
        ],
    )
    assert {s: r["rec"] for s, r in read_log(log).items()} == {50: 0.3, 100: 0.25, 150: 0.1}


def test_a_broken_line_is_named(tmp_path):
    log = tmp_path / "log.jsonl"
    log.write_text('{"step": 50, "rec": 0.3}\nnot json\n')
    with pytest.raises(ValueError, match=r"log.jsonl:2"):
        read_log(log)


def test_two_runs_become_one_picture(tmp_path):
    for name, paired in (("with-pairs", True), ("without", False)):
        run = tmp_path / name
        run.mkdir()
        records = [
            {
                "step": s,
                "total": 10 / s,
                "rec": 1 / s,
                "d": 0.9,
                **({"paired": 0.2} if paired else {}),
            }
            for s in range(50, 550, 50)
        ]
        write_log(run / "log.jsonl", records)
    out = tmp_path / "curves.png"
    main([str(tmp_path / "with-pairs"), str(tmp_path / "without"), "-o", str(out)])
    picture = read_image(out).rgb
    assert picture.ndim == 3 and picture.shape[1] > picture.shape[0] > 200
    assert np.unique(picture.reshape(-1, 3), axis=0).shape[0] > 20  # lines and text, not blank
    with pytest.raises(SystemExit):  # refuses to overwrite
        main([str(tmp_path / "without"), "-o", str(out)])
