"""The paired term of translator training: the pairs file, the shared crop box, the change
mask, and training and resuming with it (tiny networks, 32-px crops, a few steps)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from PIL import Image

from hidt_cli.train import runtime as runtime_module
from hidt_cli.train.config import PAIRED_WEIGHT, Phase, TranslatorTrainConfig, from_dict
from hidt_cli.train.pairs import ScenePairCrops, change_mask, read_scenes
from hidt_cli.train.runtime import Checkpoint, setup_runtime
from hidt_cli.train.translator import TranslatorTrainer
from tests.conftest import TINY_TRAIN, invoke
from tests.images import make_photo, textured

FRAMES = ["amos-day-0001.png", "amos-day-0002.png", "amos-night-0003.png"]


def pngs(folder):
    """The photos of a test folder, without the data module's folder walker."""
    return sorted(folder.glob("*.png"))


@pytest.fixture(scope="module")
def scene_data(tmp_path_factory):
    """One fixed-camera scene at three times (PNG, so brightness changes stay exact), an
    unrelated photo, and a pairs file naming a held-out frame and a one-frame scene too."""
    folder = tmp_path_factory.mktemp("scenes")
    view = textured()
    for name, gain in zip(FRAMES, (1.0, 0.8, 0.3), strict=True):
        Image.fromarray((view * gain).astype(np.uint8)).save(folder / name)
    Image.fromarray(make_photo(96, 80, seed=5)).save(folder / "weather-rain-0001.png")
    pairs = folder.parent / f"{folder.name}-pairs.json"
    table = {"camera": [*FRAMES, "amos-day-0009.png"], "lonely": ["weather-rain-0001.png"]}
    pairs.write_text(json.dumps(table))
    return folder, pairs


def test_pairs_file_keeps_scenes_with_two_frames_in_the_data(scene_data, tmp_path):
    folder, pairs = scene_data
    scenes = read_scenes(pairs, pngs(folder), folder)
    assert [[p.name for p in frames] for frames in scenes] == [FRAMES]
    nothing = tmp_path / "none.json"
    nothing.write_text(json.dumps({"held-out": ["amos-day-0009.png", "amos-day-0010.png"]}))
    with pytest.raises(ValueError, match="no scene has two frames"):
        read_scenes(nothing, pngs(folder), folder)


def test_frames_of_different_sizes_are_refused(tmp_path):
    Image.fromarray(make_photo(64, 64)).save(tmp_path / "a.png")
    Image.fromarray(make_photo(96, 64)).save(tmp_path / "b.png")
    pairs = tmp_path / "pairs.json"
    pairs.write_text(json.dumps({"moved": ["a.png", "b.png"]}))
    with pytest.raises(ValueError, match="one fixed camera"):
        read_scenes(pairs, pngs(tmp_path), tmp_path)


def test_both_frames_are_cut_with_the_same_box(scene_data):
    """The frames differ by brightness only, so with one box, scale and flip their crops
    differ by that factor; any other box on this texture would differ by far more."""
    folder, pairs = scene_data
    dataset = ScenePairCrops(read_scenes(pairs, pngs(folder), folder), 32, (32, 48))
    gains = {0: 1.0, 1: 0.8, 2: 0.3}
    torch.manual_seed(0)
    for _ in range(12):
        index = int(torch.randint(len(dataset), ()))
        item = dataset[index]
        a, b = (item["a"] + 1) * 127.5, (item["b"] + 1) * 127.5
        others = [k for k in gains if k != index]
        assert min((b * gains[index] - a * gains[k]).abs().max().item() for k in others) < 3


def test_change_mask_leaves_out_a_pasted_car_and_keeps_a_change_of_light():
    view = torch.from_numpy(textured(64, 64, seed=3)).permute(2, 0, 1)[None].float() / 127.5 - 1
    night = (view * 0.3 - 0.5) * torch.tensor([0.7, 0.9, 1.3]).view(1, 3, 1, 1)
    assert change_mask(view, night).min() == 1
    car = view.clone()
    car[..., 24:36, 16:40] = torch.rand(1, 3, 12, 24, generator=torch.Generator().manual_seed(1))
    mask = change_mask(view, car)[0, 0]
    assert mask[24:36, 16:40].max() == 0
    outside = torch.ones_like(mask, dtype=torch.bool)
    outside[18:42, 10:46] = False  # the car and a margin of its windows
    assert mask[outside].min() == 1


def test_training_with_pairs_under_bf16(scene_data, tmp_path, monkeypatch):
    """A few steps with the paired term in bf16 autocast (forced, whatever this CPU has): the
    term is finite, and it moves the generator only."""
    monkeypatch.setattr(runtime_module, "native_bf16", lambda device: True)
    folder, pairs = scene_data
    settings = {**dataclasses.asdict(TranslatorTrainConfig()), **TINY_TRAIN, "pairs": str(pairs)}
    config = dataclasses.replace(
        from_dict(TranslatorTrainConfig, settings), phases=(Phase(2, 32, 2),)
    )
    trainer = TranslatorTrainer(config, folder, tmp_path, setup_runtime("cpu"))
    assert trainer.config.losses.paired == PAIRED_WEIGHT
    pair = next(trainer._pair_batches(config.phases[0]))
    term = trainer._paired_term(pair["a"], pair["b"])
    term.backward()
    assert torch.isfinite(term) and term > 0
    assert all(p.grad is None for p in [*trainer.dis.parameters(), *trainer.dis_cond.parameters()])
    assert trainer.generator.style_encoder.head[-1].weight.grad.abs().sum() > 0
    for _ in range(2):
        values = trainer.train_step(pair["a"], pair=(pair["a"], pair["b"]))
        assert np.isfinite(values["paired"]) and np.isfinite(values["total"])


def test_pairs_join_a_run_checkpointed_before_they_existed(scene_data, tmp_path):
    """`--resume --config extra.json --pairs FILE` on a checkpoint in the format written before
    the paired term: its settings are kept (the JSON changes only what it names), the term runs
    and is logged at the steps `paired_every` picks, a later --resume keeps it, and one with
    {"pairs": null} drops it (a paired weight of 0 would read as unset)."""
    folder, pairs = scene_data
    settings = {**dataclasses.asdict(TranslatorTrainConfig()), **TINY_TRAIN}
    settings["losses"] = {**settings["losses"], "dist": 7.0}
    config = from_dict(TranslatorTrainConfig, settings)
    trainer = TranslatorTrainer(config, folder, tmp_path, setup_runtime("cpu"))
    out = tmp_path / "run"
    out.mkdir()
    torch.save(old_format_checkpoint(trainer, step=4), out / "checkpoint.pt")
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps({"losses": {"paired": 5.0}, "paired_every": 2, "log_every": 1}))
    joined = train_cli(
        folder, out, "--resume", "--config", extra, "--pairs", pairs, "--curriculum", "6:32:2"
    )
    assert joined.exit_code == 0, joined.output
    again = train_cli(folder, out, "--resume", "--curriculum", "8:32:2")
    assert again.exit_code == 0, again.output
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [5, 6, 7, 8]
    assert [np.isfinite(r["paired"]) if "paired" in r else None for r in records] == [
        None,
        True,
        None,
        True,
    ]
    saved = Checkpoint.read(out / "checkpoint.pt").config(TranslatorTrainConfig)
    assert (saved.losses.paired, saved.losses.dist, saved.paired_every) == (5.0, 7.0, 2)
    assert saved.generator == config.generator and saved.pairs == str(pairs.resolve())

    drop = tmp_path / "drop.json"
    drop.write_text(json.dumps({"pairs": None}))
    dropped = train_cli(folder, out, "--resume", "--config", drop, "--curriculum", "10:32:2")
    assert dropped.exit_code == 0, dropped.output
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [("paired" in r) for r in records if r["step"] > 8] == [False, False]
    saved = Checkpoint.read(out / "checkpoint.pt").config(TranslatorTrainConfig)
    assert saved.pairs is None and not saved.uses_pairs


def old_format_checkpoint(trainer: TranslatorTrainer, step: int) -> dict:
    """What the trainer saved before the paired term: these keys, and a config without the
    paired settings."""
    config = json.loads(json.dumps(dataclasses.asdict(trainer.config)))
    del config["pairs"], config["paired_every"], config["losses"]["paired"]
    return {
        "config": json.dumps(config),
        "step": step,
        "rng": {"torch": torch.get_rng_state()},
        "generator": trainer.generator.state_dict(),
        "dis": trainer.dis.state_dict(),
        "dis_cond": trainer.dis_cond.state_dict(),
        "opt_g": trainer.opt_g.state_dict(),
        "opt_d": trainer.opt_d.state_dict(),
        "style_pool": torch.empty(0),
    }


def train_cli(photos, out, *args):
    return invoke("train", photos, "--out", out, "--device", "cpu", "--quiet", *args)
