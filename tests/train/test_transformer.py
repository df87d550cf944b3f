"""Masked loss, threshold tuning and pos_weight on hand-worked numbers."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from tfgbv.metrics.decision import macro_f1_at, tune_thresholds
from tfgbv.train.transformer import compute_pos_weight, masked_bce_loss


def test_masked_loss_ignores_missing_cells():
    logits = torch.tensor([[0.0, 2.0], [1.0, -1.0]])
    labels = torch.tensor([[1.0, -1.0], [-1.0, 0.0]])
    # annotated cells: (0,0) logit 0 target 1 -> ln 2; (1,1) logit -1 target 0 -> ln(1 + e^-1)
    expected = (math.log(2) + math.log(1 + math.exp(-1))) / 2
    assert masked_bce_loss(logits, labels).item() == pytest.approx(expected, rel=1e-6)


def test_masked_loss_gives_no_gradient_to_missing_cells():
    logits = torch.tensor([[0.5, -0.3]], requires_grad=True)
    masked_bce_loss(logits, torch.tensor([[1.0, -1.0]])).backward()
    assert logits.grad[0, 1].item() == 0.0
    assert logits.grad[0, 0].item() == pytest.approx(torch.sigmoid(torch.tensor(0.5)).item() - 1.0)


def test_masked_loss_all_missing_is_zero_not_nan():
    loss = masked_bce_loss(torch.zeros(2, 4, requires_grad=True), -torch.ones(2, 4))
    assert loss.item() == 0.0


def test_masked_loss_accepts_soft_labels_and_pos_weight():
    logits = torch.tensor([[0.0]])
    # soft target 0.5 with logit 0: 0.5*ln2 + 0.5*ln2 = ln 2
    assert masked_bce_loss(logits, torch.tensor([[0.5]])).item() == pytest.approx(math.log(2))
    # pos_weight 3 on a positive: 3 * ln 2
    assert masked_bce_loss(logits, torch.tensor([[1.0]]), torch.tensor([3.0])).item() == pytest.approx(3 * math.log(2))


def test_tune_thresholds_picks_best_f1_per_label_and_ignores_missing():
    y = np.array([[1, 0], [1, -1], [0, 1], [0, 0]], dtype=float)
    p = np.array([[0.9, 0.2], [0.6, 0.99], [0.4, 0.7], [0.1, 0.8]])
    # label 0: any t in (0.4, 0.6] separates perfectly; 0.5 is the tie-break closest to 0.5
    # label 1 (row 1 missing): positives {0.7}, negatives {0.2, 0.8} -> best F1 at t<=0.7 is 2/3 with t in (0.2,0.7]
    t = tune_thresholds(y, p, grid=[0.1, 0.3, 0.5, 0.7, 0.9])
    assert t[0] == 0.5
    assert t[1] in (0.3, 0.5, 0.7) and t[1] == 0.5


def test_tune_thresholds_defaults_when_no_positive():
    y = np.array([[0], [0], [-1]], dtype=float)
    assert tune_thresholds(y, np.array([[0.2], [0.9], [0.5]]), [0.1, 0.5, 0.9]) == [0.5]


def test_pos_weight_is_neg_over_pos_capped():
    y = np.array([[1, 0], [0, 0], [0, -1], [0, 1]], dtype=float)
    # label 0: 1 pos, 3 neg -> 3; label 1: 1 pos, 2 neg (one missing) -> 2
    assert compute_pos_weight(y, cap=10) == [3.0, 2.0]
    assert compute_pos_weight(y, cap=2.5) == [2.5, 2.0]


def test_macro_f1_skips_labels_without_positives():
    y = np.array([[1, 0], [0, 0]], dtype=float)
    p = np.array([[0.9, 0.9], [0.1, 0.1]])
    assert macro_f1_at(y, p, [0.5, 0.5]) == 1.0


def test_head_learning_rate_moves_only_head_parameters_to_their_own_groups():
    from tfgbv.train.transformer import split_head_param_groups

    model = torch.nn.Module()
    model.encoder = torch.nn.Linear(3, 3)
    model.classifier = torch.nn.Linear(3, 4)
    opt = torch.optim.AdamW(
        [
            {"params": [model.encoder.weight, model.classifier.weight], "weight_decay": 0.01},
            {"params": [model.encoder.bias, model.classifier.bias], "weight_decay": 0.0},
        ],
        lr=1e-4,
    )
    moved = split_head_param_groups(opt, model, 3e-3)
    assert moved == 2
    by_param = {id(p): g for g in opt.param_groups for p in g["params"]}
    assert by_param[id(model.encoder.weight)]["lr"] == 1e-4 and by_param[id(model.classifier.weight)]["lr"] == 3e-3
    assert by_param[id(model.classifier.weight)]["weight_decay"] == 0.01  # each group keeps its decay setting
    assert by_param[id(model.classifier.bias)]["weight_decay"] == 0.0
    assert sum(len(g["params"]) for g in opt.param_groups) == 4  # nothing lost or duplicated


def test_head_learning_rate_without_a_head_is_a_clear_error():
    from tfgbv.train.transformer import split_head_param_groups

    model = torch.nn.Linear(2, 2)
    with pytest.raises(ValueError, match="head_learning_rate"):
        split_head_param_groups(torch.optim.SGD(model.parameters(), lr=0.1), model, 1e-3)


def test_length_batches_are_homogeneous_shuffled_and_cover_every_row_once():
    from tfgbv.train.transformer import ShuffledLengthBatches

    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 200, size=1003).tolist()
    sampler = ShuffledLengthBatches(lengths, batch_size=8, seed=3, mega_batch_mult=10)
    first = list(iter(sampler))
    assert sorted(first) == list(range(1003))  # a permutation: nothing dropped or repeated
    batches = [first[i : i + 8] for i in range(0, len(first), 8)]
    assert all(len(b) == 8 for b in batches[:-1]) and len(batches[-1]) == 1003 % 8
    # within a batch lengths are close (sorted inside a mega-batch) ...
    spread = np.mean([max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches[:-1]])
    assert spread < 0.25 * (max(lengths) - min(lengths))
    # ... but batch order does not sweep long -> short as Transformers' length grouping does
    batch_max = [max(lengths[i] for i in b) for b in batches[:-1]]
    rho = np.corrcoef(batch_max, np.arange(len(batch_max)))[0, 1]
    assert abs(rho) < 0.2
    descending_runs = sum(batch_max[i] >= batch_max[i + 1] for i in range(len(batch_max) - 1)) / (len(batch_max) - 1)
    assert descending_runs < 0.7
    second = list(iter(sampler))
    assert second != first and sorted(second) == list(range(1003))  # a new order each epoch
    assert list(iter(ShuffledLengthBatches(lengths, 8, seed=3, mega_batch_mult=10))) == first  # seeded


def _tiny_spec(**kw):
    from tfgbv.models.build import ModelSpec, TextPrep

    tiny = {"hidden_size": 16, "num_hidden_layers": 3, "num_attention_heads": 2, "intermediate_size": 32}
    return ModelSpec(source="tiny", pooling="cls", text=TextPrep(max_length=16), tiny={**tiny, "vocab_size": 200}, **kw)


def test_frozen_modules_are_the_embeddings_and_lower_layers_only():
    from tfgbv.models.build import build_model, frozen_modules

    _, model = build_model(_tiny_spec(freeze_embeddings=True, freeze_layers=2), ["один два три", "четыре пять"])
    frozen = frozen_modules(model)
    layers = model.bert.encoder.layer
    assert any(m is model.bert.embeddings for m in frozen)
    assert any(m is layers[0] for m in frozen) and any(m is layers[1] for m in frozen)
    assert not any(m is layers[2] or m is model.classifier or m is model.bert.pooler for m in frozen)
    _, unfrozen = build_model(_tiny_spec(), ["один два три"])
    assert frozen_modules(unfrozen) == []


def test_training_step_runs_frozen_layers_without_dropout():
    from transformers import TrainingArguments

    from tfgbv.models.build import build_model
    from tfgbv.train.transformer import MaskedBCETrainer

    tok, model = build_model(_tiny_spec(freeze_embeddings=True, freeze_layers=2), ["один два три", "четыре пять"])
    args = TrainingArguments(output_dir="/tmp/unused", use_cpu=True, report_to="none", bf16=False)
    trainer = MaskedBCETrainer(model=model, args=args)
    enc = tok(["один два три", "четыре пять"], padding=True, return_tensors="pt")
    seen: dict[str, bool] = {}
    layers = model.bert.encoder.layer
    layers[1].register_forward_hook(lambda m, i, o: seen.update(frozen=m.training))
    layers[2].register_forward_hook(lambda m, i, o: seen.update(trained=m.training))
    model.train()
    loss = trainer.compute_loss(model, {**enc, "labels": torch.tensor([[1.0, 0, 0, -1], [0, 1, 0, 0]])})
    assert torch.isfinite(loss)
    assert seen == {"frozen": False, "trained": True}


def test_curve_points_add_dev_evaluations_and_nothing_else(tiny_data, tmp_path):
    from tfgbv import rundir
    from tfgbv.train.transformer import TrainSpec, train

    def run(name, curve_points):
        tspec = TrainSpec(
            max_steps=6,
            per_device_train_batch_size=8,
            eval_strategy="no",
            early_stopping_patience=None,
            learning_rate=1e-3,
            bf16=False,
            curve_points=curve_points,
        )
        out = train(tiny_data, _tiny_spec(), tspec, tmp_path / name, seed=3, score_test=False)
        history = json.loads((Path(out["run_dir"]) / rundir.HISTORY).read_text(encoding="utf-8"))
        return Path(out["run_dir"]), history

    _, plain_history = run("plain", 0)
    run_dir, history = run("curve", 3)
    assert [h["step"] for h in history if "eval_macro_f1" in h] == [2, 4, 6]
    assert not any("eval_macro_f1" in h for h in plain_history)
    assert history[-1]["step"] == 6  # trained to the end: no early stopping, no best-checkpoint reload
    assert not (run_dir / rundir.CHECKPOINTS).exists()


def test_saved_weights_are_readable_like_the_rest_of_the_run(tiny_run):
    """save_pretrained writes model.safetensors 0600: a service account that reads the run could not load it."""
    import os

    from tfgbv.io import current_umask

    files = [p for p in tiny_run.rglob("*") if p.is_file() and not p.is_symlink()]
    modes = {str(p.relative_to(tiny_run)): os.stat(p).st_mode & 0o777 for p in files}
    assert modes["model/model.safetensors"] == 0o666 & ~current_umask()
    assert set(modes.values()) == {0o666 & ~current_umask()}, modes
