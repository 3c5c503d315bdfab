import json
import math

import pytest
import torch

import frbench.build
from frbench.build import build_model
from frbench.contract import BASELINE, Hook, Method
from frbench.data import load_split
from frbench.errors import ConfigError, TrainingDiverged
from frbench.methods import load_model
from frbench.models import UNet, UNetConfig
from frbench.train import TrainConfig, fit, lr_at, segmentation_loss

from conftest import TINY_UNET

CFG = {"unet": TINY_UNET, "train": {"epochs": 2, "batch_size": 4, "lr": 0.003}, "options": {}}


def test_lr_schedule_warmup_then_cosine():
    cfg = TrainConfig.from_dict(dict(lr=1.0, warmup_steps=2, min_lr_ratio=0.1))
    assert lr_at(0, 10, cfg) == 0.5 and lr_at(1, 10, cfg) == 1.0
    assert lr_at(2, 10, cfg) == pytest.approx(1.0)
    assert lr_at(10, 10, cfg) == pytest.approx(0.1)
    assert all(lr_at(s, 10, cfg) >= lr_at(s + 1, 10, cfg) for s in range(2, 10))
    assert lr_at(5, 10, TrainConfig.from_dict(dict(lr=0.3, lr_schedule="constant"))) == 0.3


def test_loss_is_lower_for_the_right_answer():
    masks = torch.randint(0, 2, (2, 8, 8))
    good = torch.nn.functional.one_hot(masks, 2).permute(0, 3, 1, 2).float() * 10
    assert segmentation_loss(good, masks, 1.0) < segmentation_loss(-good, masks, 1.0)


def test_build_model_writes_checkpoint_and_record(tiny_dataset, tmp_path):
    record = build_model(method="baseline", level="dense", seed=0, data=str(tiny_dataset), config=CFG,
                         out=tmp_path / "model.pt", record_out=tmp_path / "train.json", progress=False)
    saved = json.loads((tmp_path / "train.json").read_text())
    assert saved["key"] == {"method": "baseline", "level": "dense", "seed": 0}
    assert len(saved["epochs"]) == 2 and all(0 <= e["val_dice"] <= 1 and math.isfinite(e["loss"]) for e in saved["epochs"])
    assert saved["wall_seconds"] > 0 and saved["peak_rss_kb"] > 0
    assert saved["best_val_dice"] == max(e["val_dice"] for e in saved["epochs"])
    assert saved["provenance"]["git"]["commit"] and saved["device"] == "cpu" and saved["error"] is None
    model, ckpt = load_model(tmp_path / "model.pt")
    assert ckpt["method"] == "baseline" and ckpt["meta"]["best_epoch"] == record["best_epoch"]
    images, _ = load_split(tiny_dataset, "val")
    assert model(images[:2]).shape == (2, 2, 32, 32)


def test_same_seed_same_weights(tiny_dataset, tmp_path):
    for run in ("a", "b"):
        build_model(method="baseline", level="dense", seed=3, data=str(tiny_dataset), config=CFG,
                    out=tmp_path / run / "model.pt", record_out=tmp_path / run / "train.json", progress=False)
    a, _ = load_model(tmp_path / "a" / "model.pt")
    b, _ = load_model(tmp_path / "b" / "model.pt")
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(va, vb), k


def test_nan_loss_stops_with_epoch_and_label_and_writes_nothing(tiny_dataset, tmp_path):
    images, masks = load_split(tiny_dataset, "train")
    model = UNet(UNetConfig.from_dict(TINY_UNET))
    with torch.no_grad():
        model.outc.conv.bias.fill_(float("nan"))
    with pytest.raises(TrainingDiverged, match=r"baseline/dense/seed0: loss is nan at epoch 1"):
        fit(model, (images, masks), load_split(tiny_dataset, "val"), TrainConfig.from_dict(dict(epochs=1, batch_size=4)),
            seed=0, label="baseline/dense/seed0", progress=False)
    cfg = {**CFG, "train": {"epochs": 1, "batch_size": 4, "lr": 1e30}}  # diverges through the CLI path too
    with pytest.raises(TrainingDiverged):
        build_model(method="baseline", level="dense", seed=0, data=str(tiny_dataset), config=cfg,
                    out=tmp_path / "model.pt", record_out=tmp_path / "train.json", progress=False)
    assert not (tmp_path / "model.pt").exists() and not (tmp_path / "train.json").exists()


def test_uint8_split_trains_to_the_same_weights_as_float(tiny_dataset):
    """build_model keeps the split uint8 and fit converts each batch: no float copy of the
    split, and not one bit of the result changes."""
    cfg = TrainConfig.from_dict(dict(epochs=2, batch_size=4))
    models = []
    for uint8 in (False, True):
        torch.manual_seed(0)
        train, val = load_split(tiny_dataset, "train", uint8=uint8), load_split(tiny_dataset, "val", uint8=uint8)
        models.append(fit(UNet(UNetConfig.from_dict(TINY_UNET)), train, val, cfg, seed=0, progress=False))
    (a, ra), (b, rb) = models
    untimed = [[{k: v for k, v in e.items() if k != "seconds"} for e in r["epochs"]] for r in (ra, rb)]
    assert untimed[0] == untimed[1]  # the same losses and validation Dice, exactly
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(va, vb), k


def test_unreadable_inputs_give_an_error_record_and_an_empty_checkpoint(tiny_dataset, tmp_path):
    """A corrupt dataset or baseline is the job's input, not its result: train.json says what
    failed and what to do, the checkpoint is empty, and the job does not fail."""
    bad = tmp_path / "dataset.npz"
    bad.write_bytes(tiny_dataset.read_bytes()[:5000])  # truncated
    base = tmp_path / "baseline"
    record = build_model(method="baseline", level="dense", seed=0, data=str(bad), config=CFG,
                         out=base / "model.pt", record_out=base / "train.json", progress=False)
    saved = json.loads((base / "train.json").read_text())
    assert saved == record and saved["key"] == {"method": "baseline", "level": "dense", "seed": 0}
    assert saved["error"].startswith("DataError: ") and str(bad) in saved["error"]
    assert f"--forcerun {bad}" in saved["error"]  # what to run (frbench.advice)
    assert saved["provenance"]["git"] and (base / "model.pt").read_bytes() == b""

    # a post-training method from that baseline: the error says its input failed, and why
    cfg = {"unet": TINY_UNET, "finetune": {"epochs": 1, "batch_size": 4}, "options": {}}
    down = tmp_path / "prune"
    record = build_model(method="prune_unstructured", level="0.5", seed=0, data=str(tiny_dataset), config=cfg,
                         inputs={"start": str(base / "model.pt")}, out=down / "model.pt", record_out=down / "train.json",
                         progress=False)
    assert record["error"].startswith(f"CheckpointError: {base / 'model.pt'}: input 'start' was not trained")
    assert f"{base / 'train.json'}: DataError: {bad}: truncated or corrupt" in record["error"]
    assert (down / "model.pt").read_bytes() == b"" and json.loads((down / "train.json").read_text()) == record

    (base / "train.json").unlink()  # a damaged checkpoint with no record of a failure: the loader's own error
    record = build_model(method="prune_unstructured", level="0.5", seed=0, data=str(tiny_dataset), config=cfg,
                         inputs={"start": str(base / "model.pt")}, out=down / "model.pt", record_out=down / "train.json",
                         progress=False)
    assert record["error"].startswith(f"CheckpointError: {base / 'model.pt'}: truncated or corrupt checkpoint")


class InputProbe(Method):
    """A method that declares two inputs (one of them trainable) and notes how it is handed them."""

    name = "input_probe"
    trainable_inputs = frozenset({"helper"})
    seen: dict = {}

    def inputs(self):
        return {"teacher": BASELINE, "helper": BASELINE}

    def build(self):
        for name, model in self.ctx.models.items():
            InputProbe.seen[name] = {"devices": {p.device for p in model.parameters()}, "training": model.training,
                                     "grad": {p.requires_grad for p in model.parameters()}, "device": self.ctx.device,
                                     "source": self.ctx.sources[name]["method"]}
        return UNet(UNetConfig.from_dict(self.ctx.unet))

    def arch(self, model):
        return {"unet": model.cfg.to_dict()}


def test_a_declared_input_is_handed_over_loaded_on_the_training_device_and_frozen(tiny_dataset, tiny_checkpoint,
                                                                                  tmp_path, monkeypatch):
    real = frbench.build.get_method
    monkeypatch.setattr(frbench.build, "get_method", lambda name: InputProbe if name == "input_probe" else real(name))
    config = {"unet": TINY_UNET, "train": {"epochs": 1, "batch_size": 4}, "options": {}}
    given = {"teacher": str(tiny_checkpoint), "helper": str(tiny_checkpoint)}
    record = build_model(method="input_probe", level="dense", seed=0, data=str(tiny_dataset), config=config,
                         out=tmp_path / "model.pt", record_out=tmp_path / "train.json", inputs=given, progress=False)
    seen = InputProbe.seen
    for name, trainable in (("teacher", False), ("helper", True)):
        assert seen[name]["devices"] == {seen[name]["device"]} and str(seen[name]["device"]) == record["device"]
        assert seen[name]["training"] is False and seen[name]["grad"] == {trainable}, name
        assert seen[name]["source"] == "baseline"
    assert record["inputs"]["teacher"] == {"model": "baseline/dense", "checkpoint": str(tiny_checkpoint)}
    assert (record["budget"], record["control"]) == ("train", "baseline/dense")  # from the declarations
    with pytest.raises(ConfigError, match=r"input_probe/dense/seed0 takes the inputs --input teacher=CHECKPOINT "
                                          r"\(the model baseline/dense\), --input helper="):
        build_model(method="input_probe", level="dense", seed=0, data=str(tiny_dataset), config=config,
                    out=tmp_path / "m.pt", record_out=tmp_path / "t.json", inputs={"teacher": given["teacher"]},
                    progress=False)


def test_hooks_are_called_and_recorded(tiny_dataset):
    class Counter(Hook):
        steps = 0

        def on_step_end(self, model, step):
            self.steps += 1

        def on_epoch_end(self, model, epoch):
            return {"hook_steps": self.steps}

        def checkpoint_ready(self, model):
            return self.steps > 5  # only the second epoch may be selected

    hook = Counter()
    model, record = fit(UNet(UNetConfig.from_dict(TINY_UNET)), load_split(tiny_dataset, "train"),
                        load_split(tiny_dataset, "val"), TrainConfig.from_dict(dict(epochs=2, batch_size=4)), seed=0,
                        hooks=[hook], progress=False)
    assert hook.steps == 2 * record["steps_per_epoch"]
    assert [e["hook_steps"] for e in record["epochs"]] == [record["steps_per_epoch"], hook.steps]
    assert record["best_epoch"] == 2


def test_unknown_train_key_is_named():
    from frbench.errors import ConfigError

    with pytest.raises(ConfigError, match="lerning_rate"):
        TrainConfig.from_dict({"lerning_rate": 1}, where="train")


def test_a_loss_hook_changes_what_the_loop_minimises(tiny_dataset):
    """`Hook.loss` sees the batch, the model's output and the shared loss, and what it returns is what
    the step minimises: an L1 penalty on every weight drives the weights toward zero."""

    class L1(Hook):
        def __init__(self, weight):
            self.weight, self.seen = weight, []

        def loss(self, model, batch, output, loss):
            images, masks = batch
            self.seen.append((images.shape[0], masks.shape, output.shape[1]))
            return loss + self.weight * sum(p.abs().sum() for p in model.parameters())

    def train(hooks):
        torch.manual_seed(0)
        model, record = fit(UNet(UNetConfig.from_dict(TINY_UNET)), load_split(tiny_dataset, "train"),
                            load_split(tiny_dataset, "val"), TrainConfig.from_dict(dict(epochs=2, batch_size=4)),
                            seed=0, hooks=hooks, progress=False)
        return sum(float(p.detach().abs().sum()) for p in model.parameters()), record

    torch.manual_seed(0)
    initial = sum(float(p.detach().abs().sum()) for p in UNet(UNetConfig.from_dict(TINY_UNET)).parameters())
    plain, _ = train([])
    hook = L1(1.0)
    penalised, record = train([hook])
    assert len(hook.seen) == record["total_steps"] and hook.seen[0][1][-2:] == (32, 32) and hook.seen[0][2] == 2
    # AdamW moves every weight by about lr per step, along the penalty's sign when it dominates: the L1
    # sum falls (by ~lr x steps x weights, a few percent here), where plain training leaves it about as it was
    assert penalised < initial and penalised < plain - 0.01 * initial
    again, _ = train([L1(0.0)])  # a hook that returns the loss unchanged changes nothing
    assert again == plain


def test_a_hook_must_be_declared(tiny_dataset):
    class Undeclared:
        def on_step_end(self, model, step):
            pass

    with pytest.raises(TypeError, match="frbench.contract.Hook"):
        fit(UNet(UNetConfig.from_dict(TINY_UNET)), load_split(tiny_dataset, "train"), load_split(tiny_dataset, "val"),
            TrainConfig.from_dict(dict(epochs=1)), seed=0, hooks=[Undeclared()], progress=False, label="m")


def test_a_misspelt_config_block_is_refused_naming_it(tiny_dataset, tmp_path):
    """The job's config takes `unet`, `options` and the budgets: a block under another name (the `params` of
    older code, say) would otherwise be left out, and the model trained with the method's defaults."""
    config = {"unet": {"width": 4, "depth": 2}, "train": {"epochs": 1}, "params": {"layer_bias": False}}
    with pytest.raises(ConfigError, match="no block 'params'.*`options`"):
        build_model(method="fr", level="k12", seed=0, data=str(tiny_dataset), config=config, out=tmp_path / "m.pt",
                    record_out=tmp_path / "t.json", progress=False)
    assert not (tmp_path / "m.pt").exists()
