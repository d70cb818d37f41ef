"""Training on the CPU with tiny networks: the objective's pieces, the loops, checkpoints,
resuming, determinism, and weights that the rest of the tool loads."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from PIL import Image

import hidt_cli
from hidt_cli.train import losses
from hidt_cli.train.config import Phase, TranslatorTrainConfig, from_dict
from hidt_cli.train.perceptual import VGGPerceptualLoss, _features
from hidt_cli.train.runtime import setup_runtime
from hidt_cli.train.translator import TranslatorTrainer, fixed_photos
from hidt_cli.weights import load as load_weights
from tests.conftest import TINY_TRAIN, invoke, run_hidt
from tests.images import make_photo, save_photo

TINY_ENHANCER_TRAIN = {
    "enhancer": {"features": 8, "blocks": 1, "growth": 4},
    "d_base": 8,
    "d_layers": 3,
    "workers": 0,
    "unpaired_fraction": 0.5,
}


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Day and night photos named like the training set, so classes and presets work."""
    folder = tmp_path_factory.mktemp("photos")
    for i in range(4):
        Image.fromarray(make_photo(96, 80, seed=i)).save(folder / f"amos-day-{i:04d}.jpg")
        Image.fromarray(make_photo(96, 80, seed=i + 9) // 4).save(
            folder / f"amos-night-{i:04d}.jpg"
        )
    return folder


def train(photos, out, tmp_path, *extra, settings=TINY_TRAIN):
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(settings))
    return invoke(
        "train", photos, "--out", out, "--config", config, "--device", "cpu", "-q", *extra
    )


def test_style_distribution_is_zero_for_whitened_codes_and_positive_otherwise():
    torch.manual_seed(0)
    codes = torch.randn(500, 3)
    codes = codes - codes.mean(0)
    whitening = torch.linalg.cholesky(torch.linalg.inv(codes.T @ codes / 499))
    assert losses.style_distribution(codes @ whitening).item() == pytest.approx(0, abs=1e-4)
    assert losses.style_distribution(codes * 3 + 1).item() > 5


def test_lsgan_and_feature_matching_values():
    ones, zeros = torch.ones(2, 1, 4, 4), torch.zeros(2, 1, 4, 4)
    assert losses.lsgan_discriminator([(ones, [])], [(zeros, [])]).item() == 0
    assert losses.lsgan_discriminator([(zeros, [])], [(ones, [])]).item() == 2
    assert losses.lsgan_generator([(zeros, [])]).item() == 1
    feats = [torch.ones(1, 2, 2, 2)]
    assert losses.feature_matching([(ones, feats)], [(ones, [f * 3 for f in feats])]).item() == 2


def test_style_pool_keeps_the_latest_codes():
    pool = losses.StylePool(5)
    for i in range(4):
        pool.push(torch.full((2, 3), float(i)))
    assert pool.codes.shape == (5, 3) and pool.codes[-1, 0] == 3 and pool.codes[0, 0] == 1
    assert pool.with_current(torch.zeros(2, 3)).shape == (7, 3)


def test_resume_keeps_the_runs_own_balance(photos, tmp_path):
    """--no-balance is the run's setting: a resume without the flag must not turn it on."""
    out = tmp_path / "run"
    result = train(photos, out, tmp_path, "--curriculum", "1:32:2", "--no-balance")
    assert result.exit_code == 0, result.output
    again = train(photos, out, tmp_path, "--resume", "--curriculum", "2:32:2")
    assert again.exit_code == 0, again.output
    saved = torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=True)
    assert json.loads(saved["config"])["balance"] is False


def test_train_resume_and_use_the_weights(photos, tmp_path):
    out = tmp_path / "run"
    result = train(photos, out, tmp_path, "--curriculum", "3:32:4,2:64:2", "--sample-every", "5")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert records[-1]["step"] == 5 and records[-1]["crop"] == 64
    assert all(torch.isfinite(torch.tensor(r["total"])) for r in records)
    assert (out / "samples" / "step_0000005.png").is_file()
    model = hidt_cli.load(out, device="cpu")
    assert set(model.presets) == {"day", "night"}
    assert model.info.generator.provenance["trained_steps"] == 5
    again = train(photos, out, tmp_path, "--resume", "--curriculum", "3:32:4,4:64:2")
    assert again.exit_code == 0, again.output
    last = json.loads((out / "log.jsonl").read_text().splitlines()[-1])
    assert last["step"] == 7
    photo = save_photo(tmp_path / "p.png")
    translated = run_hidt("translate", out, photo, "--preset", "night", "-q")
    assert translated.exit_code == 0, translated.output
    assert (tmp_path / "p_night.png").is_file()


def test_same_seed_same_weights(photos, tmp_path):
    for name in ("a", "b", "c"):
        seed = "1" if name != "c" else "2"
        result = train(
            photos,
            tmp_path / name,
            tmp_path,
            "--steps",
            "2",
            "--crop",
            "32",
            "--batch-size",
            "2",
            "--seed",
            seed,
        )
        assert result.exit_code == 0, result.output
    a, b, c = (hidt_cli.load(tmp_path / n, device="cpu").generator.state_dict() for n in "abc")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_weights_only_restart_starts_from_the_given_weights(photos, tmp_path):
    one_step = ["--steps", "1", "--crop", "32", "--batch-size", "2"]
    first = tmp_path / "first"
    assert train(photos, first, tmp_path, *one_step, "--seed", "5").exit_code == 0
    init = first / "generator.safetensors"
    frozen = {**TINY_TRAIN, "lr_g": 0.0}  # a step that cannot move the generator
    started = tmp_path / "started"
    result = train(photos, started, tmp_path, *one_step, "--init", init, settings=frozen)
    assert result.exit_code == 0, result.output
    fresh = tmp_path / "fresh"  # the same step from the run's own random start (seed 0)
    assert train(photos, fresh, tmp_path, *one_step, settings=frozen).exit_code == 0
    given = load_weights(init, "generator").state
    exported, control = (
        hidt_cli.load(run, device="cpu").generator.state_dict() for run in (started, fresh)
    )
    assert all(torch.equal(exported[k], given[k].float()) for k in given)
    assert not all(torch.equal(control[k], given[k].float()) for k in given)


def recorded_batches(monkeypatch) -> list[tuple]:
    """The shapes of the images and masks every training step receives."""
    seen = []
    real = TranslatorTrainer.train_step

    def recording(self, x, masks=None, pair=None):
        seen.append((tuple(x.shape), None if masks is None else tuple(masks.shape)))
        return real(self, x, masks, pair)

    monkeypatch.setattr(TranslatorTrainer, "train_step", recording)
    return seen


def test_default_batch_of_eight_equal_sized_crops(photos, tmp_path, monkeypatch):
    seen = recorded_batches(monkeypatch)
    out = tmp_path / "run"
    result = train(photos, out, tmp_path, "--steps", "2", "--crop", "32")  # --batch-size 8
    assert result.exit_code == 0, result.output
    assert seen == [((8, 3, 32, 32), None)] * 2
    record = json.loads((out / "log.jsonl").read_text().splitlines()[-1])
    assert record["step"] == 2 and "seg" not in record


def test_masks_add_the_segmentation_term(photos, tmp_path, monkeypatch):
    """Class-index masks parallel to the photos (sky 0, ground 1, blocks 2) reach every step
    with their crops and add the decoder's segmentation cross-entropy to the losses."""
    masks = tmp_path / "masks"
    masks.mkdir()
    for path in sorted(photos.glob("*.jpg")):
        with Image.open(path) as photo:
            width, height = photo.size
        classes = np.zeros((height, width), np.uint8)
        classes[height // 2 :] = 1
        classes[10:20, 30:50] = 2
        Image.fromarray(classes).save(masks / f"{path.stem}.png")
    seen = recorded_batches(monkeypatch)
    out = tmp_path / "run"
    args = ["--steps", "1", "--crop", "32", "--batch-size", "2", "--masks", masks]
    result = train(photos, out, tmp_path, *args)
    assert result.exit_code == 0, result.output
    assert seen == [((2, 3, 32, 32), (2, 32, 32))]
    record = json.loads((out / "log.jsonl").read_text().splitlines()[-1])
    assert 0 < record["seg"] < float("inf")


def test_exported_weights_are_the_average_and_resume_takes_the_new_learning_rate(photos, tmp_path):
    out = tmp_path / "run"
    result = train(photos, out, tmp_path, "--steps", "3", "--crop", "32", "--batch-size", "2")
    assert result.exit_code == 0, result.output
    saved = torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=True)
    exported = hidt_cli.load(out, device="cpu").generator.state_dict()
    averaged, trained = saved["average"]["weights"], saved["generator"]
    assert int(saved["average"]["updates"]) == 3
    assert all(torch.allclose(exported[k], averaged[k].half().float()) for k in exported)
    assert not all(torch.allclose(exported[k], trained[k].half().float()) for k in exported)
    lower = {"lr_g": 1e-5, "lr_d": 2e-5}
    args = ["--resume", "--steps", "4", "--crop", "32", "--batch-size", "2"]
    assert train(photos, out, tmp_path, *args, settings=lower).exit_code == 0
    saved = torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=True)
    assert [g["lr"] for g in saved["opt_g"]["param_groups"]] == [1e-5]
    assert [g["lr"] for g in saved["opt_d"]["param_groups"]] == [2e-5]
    assert int(saved["average"]["updates"]) == 4


def test_no_average_exports_the_trained_weights(photos, tmp_path):
    out = tmp_path / "run"
    args = ["--steps", "2", "--crop", "32", "--batch-size", "2"]
    assert train(photos, out, tmp_path, *args, settings={**TINY_TRAIN, "ema": 0}).exit_code == 0
    saved = torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=True)
    exported = hidt_cli.load(out, device="cpu").generator.state_dict()
    assert "average" not in saved
    assert all(torch.allclose(exported[k], saved["generator"][k].half().float()) for k in exported)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--curriculum", "10:30:2"], "multiple of 16"),
        (["--curriculum", "10-32-2"], "STEPS:CROP:BATCH"),
        (["--steps", "2", "--curriculum", "1:32:2"], "not both"),
        (["--resume"], "no checkpoint to resume from"),
    ],
)
def test_training_usage_errors(photos, tmp_path, args, message):
    result = train(photos, tmp_path / "run", tmp_path, *args)
    assert result.exit_code != 0 and message in result.stderr


def test_enhancer_training_gives_weights_for_hires(photos, tmp_path):
    run = tmp_path / "run"
    assert (
        train(photos, run, tmp_path, "--steps", "1", "--crop", "32", "--batch-size", "2").exit_code
        == 0
    )
    hires_photos = tmp_path / "hires"
    hires_photos.mkdir()
    for i in range(2):
        Image.fromarray(make_photo(300, 200, seed=i)).save(hires_photos / f"h{i}.jpg")
    config = tmp_path / "enh.json"
    config.write_text(json.dumps(TINY_ENHANCER_TRAIN))
    generator = run / "generator.safetensors"

    def train_enhancer(*args):
        command = ["train-enhancer", hires_photos, "--out", run, "--generator", generator]
        options = ["--size", "32", "--batch-size", "2", "--device", "cpu", "-q"]
        return invoke(*command, *options, *args)

    result = train_enhancer("--config", config, "--steps", "3", "--sample-every", "3")
    assert result.exit_code == 0, result.output
    assert (run / "enhancer_samples" / "step_0000003.png").is_file()
    resumed = train_enhancer("--resume", "--steps", "4")
    assert resumed.exit_code == 0, resumed.output
    model = hidt_cli.load(run, device="cpu")
    assert model.enhancer is not None and model.enhancer.config.features == 8
    assert model.info.enhancer.provenance["trained_steps"] == 4
    out = model.translate(make_photo(), "night", hires=True, inference_size=32, native_size=True)
    assert out.size == (192, 128)


def test_vgg_perceptual_loss_reads_torchvision_layout(tmp_path):
    torch.manual_seed(0)
    state = {f"features.{k}": v for k, v in _features().state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(1)  # other keys of a full VGG are ignored
    torch.save(state, tmp_path / "vgg19.pth")
    loss = VGGPerceptualLoss(tmp_path / "vgg19.pth")
    a, b = torch.rand(1, 3, 32, 32) * 2 - 1, torch.rand(1, 3, 32, 32) * 2 - 1
    assert loss(a, a).item() == 0 and loss(a, b).item() > 0
    torch.save({"features.0.weight": torch.zeros(1)}, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match="not VGG-19 weights"):
        VGGPerceptualLoss(tmp_path / "bad.pth")


SYNC_CHECK = """
import dataclasses, json, sys, torch, torch.distributed as dist
from pathlib import Path
from hidt_cli.train.config import Phase, TranslatorTrainConfig, from_dict
from hidt_cli.train.runtime import Checkpoint, setup_runtime
from hidt_cli.train.translator import TranslatorTrainer
settings = {**dataclasses.asdict(TranslatorTrainConfig()), **json.loads(sys.argv[1])}
config = dataclasses.replace(from_dict(TranslatorTrainConfig, settings), phases=(Phase(2, 32, 2),))
runtime = setup_runtime("cpu")
out = Path(sys.argv[3])
def report(label, value):
    gathered = [torch.zeros(1, dtype=torch.float64) for _ in range(runtime.world_size)]
    dist.all_gather(gathered, torch.tensor([float(value)], dtype=torch.float64))
    if runtime.is_main:
        print(label, *[float(g) for g in gathered])
trainer = TranslatorTrainer(config, Path(sys.argv[2]), out, runtime)
report("DRAWS", torch.rand(()))
trainer.run()
report("CHECKSUMS", sum(p.detach().double().sum() for p in trainer.generator.parameters()))
resumed = TranslatorTrainer(config, Path(sys.argv[2]), out, runtime)
resumed.resume(Checkpoint.read(out / "checkpoint.pt"))
report("RESUMED_DRAWS", torch.rand(()))
runtime.close()
"""


def test_two_process_run_keeps_the_ranks_in_sync(photos, tmp_path):
    """torchrun with two CPU processes (gloo): gradients are averaged, so every rank ends
    with the same weights, and only rank 0 writes the run folder; yet each rank draws its own
    random numbers (styles), also after a resume."""
    import subprocess
    import sys

    script = tmp_path / "sync_check.py"
    script.write_text(SYNC_CHECK)
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        str(script),
        json.dumps(TINY_TRAIN),
        str(photos),
        str(tmp_path / "run"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    reported = {ln.split()[0]: ln.split()[1:] for ln in result.stdout.splitlines()}
    first, second = (float(v) for v in reported["CHECKSUMS"])
    assert first == second
    for label in ("DRAWS", "RESUMED_DRAWS"):
        first, second = (float(v) for v in reported[label])
        assert first != second, label
    assert (tmp_path / "run" / "generator.safetensors").is_file()


def test_style_codes_start_standardised(photos, tmp_path):
    """A fresh run rescales the style encoder's head so the photos' codes start like the N(0, I)
    prior (mean 0, std 1 per dimension) instead of ~30× smaller."""
    settings = {**dataclasses.asdict(TranslatorTrainConfig()), **TINY_TRAIN}
    config = dataclasses.replace(
        from_dict(TranslatorTrainConfig, settings), phases=(Phase(1, 32, 2),)
    )
    trainer = TranslatorTrainer(config, photos, tmp_path, setup_runtime("cpu", fp32=True))
    with torch.no_grad():
        codes = trainer.generator.encode_style(fixed_photos(trainer.photos, 64, 32))
    torch.testing.assert_close(codes.mean(0), torch.zeros(3), atol=1e-4, rtol=0)
    torch.testing.assert_close(codes.std(0), torch.ones(3), atol=1e-4, rtol=0)
