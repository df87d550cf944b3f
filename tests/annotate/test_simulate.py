"""The active-learning simulation on a tiny synthetic pool: deterministic, paired seed sets, hidden labels, budget,
the labels-to-reach computation, and the resumable campaign."""

import numpy as np
import pytest

from tfgbv.annotate import simulate as sim_mod
from tfgbv.annotate.simulate import (
    Oracle,
    SimSpec,
    labels_to_reach,
    make_task,
    mean_curve,
    run_campaign,
    seed_set,
    simulate_curve,
    summarize,
)
from tfgbv.data.sources import MISSING, LoadedData
from tfgbv.models.baseline import BaselineSpec

WORDS = "кот дом река поле утро вечер город книга окно стол лес море дорога школа сад".split()
SPEC = BaselineSpec()
SIM = SimSpec(seed_size=10, batch=10, budget=50, svd_dim=8)


def _records(n: int, split: str, seed: int) -> list[dict]:
    """Comments of 4-7 everyday words; about a third carry the cue word (shaming = 1), a few labels are flipped so the
    model is not perfect from the first batch."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        words = list(rng.choice(WORDS, size=int(rng.integers(4, 8))))
        positive = rng.random() < 0.35
        if positive:
            words.insert(int(rng.integers(0, len(words))), "позорище")
        label = float(positive) if rng.random() > 0.1 else float(not positive)
        out.append(
            {
                "id": f"{split}-{i}",
                "text": " ".join(words),
                "lang": "ru",
                "source": "synthetic",
                "split": split,
                "insult": MISSING,
                "shaming": label,
                "threat": MISSING,
                "doxxing": MISSING,
            }
        )
    return out


@pytest.fixture(scope="module")
def data() -> LoadedData:
    return LoadedData(
        splits={"train": _records(160, "train", 1), "dev": _records(60, "dev", 2), "test": _records(60, "test", 3)},
        files=[],
    )


@pytest.fixture(scope="module")
def task_oracle(data):
    return make_task("synthetic", data, SPEC, SIM)


def _without_time(curve: dict) -> dict:
    return {k: v for k, v in curve.items() if k != "seconds"}


def test_the_task_infers_its_one_label_and_hides_nothing_else(task_oracle, data):
    task, oracle = task_oracle
    assert task.label == "shaming" and task.pool_rows == len(oracle) == 160
    assert task.info["train"]["positives"] == sum(r["shaming"] == 1.0 for r in data.splits["train"])
    assert task.embeddings.shape == (160, 8)
    assert not hasattr(task, "y_pool")  # the pool's labels live in the oracle only


def test_a_curve_is_deterministic_for_a_seed(task_oracle):
    task, oracle = task_oracle
    for strategy in ("random", "uncertainty_diversity"):
        a = simulate_curve(task, oracle.fresh(), strategy, 3, SIM, SPEC)
        b = simulate_curve(task, oracle.fresh(), strategy, 3, SIM, SPEC)
        assert _without_time(a) == _without_time(b)
    other = simulate_curve(task, oracle.fresh(), "random", 4, SIM, SPEC)
    assert other["order"] != a["order"]


def test_the_seed_set_is_the_same_for_every_strategy_of_a_seed(task_oracle):
    task, oracle = task_oracle
    curves = {s: simulate_curve(task, oracle.fresh(), s, 7, SIM, SPEC) for s in ("random", "uncertainty", "diversity")}
    expected = seed_set(task.pool_rows, SIM.seed_size, 7).tolist()
    for curve in curves.values():
        assert curve["order"][: SIM.seed_size] == expected
    assert len({c["f1"][0] for c in curves.values()}) == 1  # the first round fits the same rows
    assert len({tuple(c["order"]) for c in curves.values()}) == 3  # and then they choose differently


def test_labels_are_revealed_only_for_selected_rows(task_oracle, monkeypatch):
    task, oracle = task_oracle
    seen = []
    real_fit = sim_mod.fit_label_models

    def spy(X, y, spec, seed=42, labels=None):
        seen.append(np.flatnonzero(y[:, 0] >= 0).tolist())
        return real_fit(X, y, spec, seed, labels=labels)

    monkeypatch.setattr(sim_mod, "fit_label_models", spy)
    asked = oracle.fresh()
    curve = simulate_curve(task, asked, "uncertainty", 0, SIM, SPEC)
    assert asked.asked == curve["order"]  # the oracle answered exactly the selected rows, once each
    assert len(set(curve["order"])) == len(curve["order"])
    for n, rows in zip(curve["labels"], seen):
        assert sorted(rows) == sorted(curve["order"][:n])  # each fit saw the rows revealed so far, nothing else


def test_the_oracle_answers_a_row_once(task_oracle):
    _, oracle = task_oracle
    fresh = oracle.fresh()
    fresh.reveal([1, 2])
    with pytest.raises(ValueError, match="twice"):
        fresh.reveal([2, 3])
    with pytest.raises(ValueError, match="twice"):
        oracle.fresh().reveal([5, 5])


@pytest.mark.parametrize("budget, grid", [(50, [10, 20, 30, 40, 50]), (45, [10, 20, 30, 40, 45]), (10, [10])])
def test_the_budget_is_respected(task_oracle, budget, grid):
    task, oracle = task_oracle
    sim = SimSpec(seed_size=10, batch=10, budget=budget, svd_dim=8)
    asked = oracle.fresh()
    curve = simulate_curve(task, asked, "uncertainty_diversity", 1, sim, SPEC)
    assert curve["labels"] == grid and len(curve["order"]) == len(asked.asked) == budget
    assert all(0 <= p <= n for p, n in zip(curve["positives"], curve["labels"]))


def test_a_budget_beyond_the_pool_or_below_the_seed_set_is_refused(task_oracle):
    task, oracle = task_oracle
    for bad in (SimSpec(seed_size=10, budget=161), SimSpec(seed_size=20, budget=10)):
        with pytest.raises(ValueError, match="budget"):
            simulate_curve(task, oracle.fresh(), "random", 0, bad, SPEC)


def test_labels_to_reach_interpolates_the_first_crossing():
    labels = [100, 200, 300, 400]
    assert labels_to_reach(labels, [0.5, 0.6, 0.7, 0.8], 0.65) == pytest.approx(250.0)
    assert labels_to_reach(labels, [0.5, 0.6, 0.7, 0.8], 0.6) == pytest.approx(200.0)
    assert labels_to_reach(labels, [0.5, 0.6, 0.7, 0.8], 0.4) == 100.0  # reached at the first round
    assert labels_to_reach(labels, [0.5, 0.6, 0.7, 0.8], 0.81) is None
    assert labels_to_reach(labels, [0.5, 0.7, 0.6, 0.8], 0.65) == pytest.approx(175.0)  # first crossing, not the last
    assert labels_to_reach(labels, [None, 0.5, 0.7, 0.8], 0.6) == pytest.approx(250.0)  # undefined F1 counts as 0


def _curve(f1):
    return {"labels": [100, 200, 300, 400, 500], "f1": f1, "positives": [20, 40, 60, 80, 100]}


def test_summarize_pairs_seeds_and_checks_the_target():
    curves = {
        "random": {"0": _curve([0.5, 0.55, 0.6, 0.65, 0.7]), "1": _curve([0.5, 0.56, 0.62, 0.66, 0.72])},
        "uncertainty": {"0": _curve([0.5, 0.6, 0.7, 0.75, 0.8]), "1": _curve([0.5, 0.6, 0.72, 0.76, 0.8])},
        "diversity": {"0": _curve([0.5, 0.55, 0.6, 0.65, 0.69]), "1": _curve([0.5, 0.6, 0.7, 0.75, 0.8])},
    }
    s = summarize(curves, SimSpec(seed_size=100, batch=100, budget=500, target_fraction=0.6))
    assert s["budget"] == 500 and s["target_labels"] == 300
    assert s["random_final_f1"]["mean"] == pytest.approx(0.71)
    u = s["strategies"]["uncertainty"]
    assert u["reach_per_seed"] == {"0": pytest.approx(300.0), "1": pytest.approx(300.0)}
    assert u["reach_mean"] == pytest.approx(300.0) and u["met"] and u["seeds_meeting_target"] == 2
    assert u["gap_final_mean"] == pytest.approx(0.09)
    assert u["beats_noise_labels"] and u["beats_noise_f1"] and u["beats_noise"]  # 200 labels saved (SD 0), F1 +0.09
    d = s["strategies"]["diversity"]
    assert d["reach_per_seed"]["0"] is None and d["seeds_reached"] == 1
    assert d["reach_mean"] is None and not d["met"] and d["beats_noise_labels"] is False and d["beats_noise"] is False
    one_seed = summarize({k: {"0": v["0"]} for k, v in curves.items()}, SimSpec(budget=500))
    assert one_seed["strategies"]["uncertainty"]["beats_noise"] is None  # one seed: no noise estimate
    assert s["mean_curves"]["uncertainty"]["mean"][2] == pytest.approx(0.71)
    with pytest.raises(ValueError, match="grids"):
        mean_curve({"0": _curve([0.5] * 5), "1": {"labels": [100, 200], "f1": [0.5, 0.6]}})


def test_the_campaign_resumes_from_its_checkpoint_and_refuses_another_config(task_oracle, monkeypatch):
    saved = []
    result = run_campaign([task_oracle], ["random", "uncertainty"], [0, 1], SIM, SPEC, save=lambda r: saved.append(1))
    entry = result["datasets"]["synthetic"]
    assert len(saved) == 4 and set(entry["curves"]) == {"random", "uncertainty"}
    assert set(entry["curves"]["random"]) == {"0", "1"} and "order" not in entry["curves"]["random"]["0"]
    assert entry["full_pool"]["labels"] == 160 and "uncertainty" in entry["summary"]["strategies"]

    def boom(*args, **kwargs):
        raise AssertionError("a finished curve was simulated again")

    monkeypatch.setattr(sim_mod, "simulate_curve", boom)
    again = run_campaign([task_oracle], ["random", "uncertainty"], [0, 1], SIM, SPEC, result=result)
    assert again["datasets"]["synthetic"]["curves"] == entry["curves"]
    with pytest.raises(ValueError, match="config"):
        run_campaign([task_oracle], ["random"], [0, 1], SimSpec(budget=40, svd_dim=8), SPEC, result=result)
    with pytest.raises(ValueError, match="seeds"):
        run_campaign([task_oracle], ["random", "uncertainty"], [0], SIM, SPEC, result=result)


def test_random_selection_never_looks_at_labels(task_oracle):
    """The random curve's annotation order depends on the seed only, not on what the oracle answers."""
    task, oracle = task_oracle
    flipped = Oracle(1.0 - oracle.fresh().reveal(np.arange(task.pool_rows)))
    a = simulate_curve(task, oracle.fresh(), "random", 5, SIM, SPEC)
    b = simulate_curve(task, flipped, "random", 5, SIM, SPEC)
    assert a["order"] == b["order"]
