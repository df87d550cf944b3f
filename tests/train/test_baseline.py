"""The classical TF-IDF + logistic-regression baseline: same run layout, thresholds, evaluation and scoring API."""

import json

import numpy as np

from tfgbv.labels import LABELS
from tfgbv.models.baseline import BaselineSpec


def test_baseline_trains_saves_without_pickles_and_predicts(tmp_path, tiny_data):
    from tfgbv.predict.loading import load_classifier
    from tfgbv.report.evaluation import EvalSpec, evaluate_run
    from tfgbv.train.baseline import train_baseline

    summary = train_baseline(tiny_data, BaselineSpec(min_df=1, ngram_max=4), tmp_path / "run", seed=0)
    model_dir = tmp_path / "run" / "model"
    assert (model_dir / "tfidf_lr.safetensors").exists() and (model_dir / "tfidf_vocabulary.json").exists()
    assert not list(model_dir.glob("*.pkl")) and not list(model_dir.glob("*.joblib"))
    meta = json.loads((model_dir / "tfgbv_config.json").read_text())
    assert meta["kind"] == "tfidf_lr" and set(meta["thresholds"]) == set(LABELS)
    assert set(summary["metrics"]["test"]["labels"]) == set(LABELS)
    clf = load_classifier(tmp_path / "run")
    texts = tiny_data.texts("test")
    p = clf.predict_proba(texts)
    assert p.shape == (len(texts), len(LABELS)) and np.all((p >= 0) & (p <= 1))
    # trained and tested on the same 20 texts: the baseline must separate them
    y = tiny_data.label_matrix("test")
    assert p[y[:, 0] == 1, 0].min() > p[y[:, 0] == 0, 0].max()
    result = evaluate_run(
        tmp_path / "run", tiny_data, tmp_path / "run" / "eval", EvalSpec(bootstrap_resamples=20, plots=False)
    )
    assert result["metrics"]["labels"]["insult"]["roc_auc"] == 1.0
    assert clf.predict("Ты тупая корова")["labels"] == [
        lab for lab in LABELS if clf.predict("Ты тупая корова")["scores"][lab] >= meta["thresholds"][lab]
    ]


def test_baseline_masks_labels_a_source_does_not_annotate(tmp_path, tiny_data):
    from tfgbv.models.baseline import BaselineSpec, fit_baseline

    texts = tiny_data.texts("train")
    y = tiny_data.label_matrix("train").copy()
    y[:, LABELS.index("threat")] = -1  # not annotated anywhere: constant score, nothing learned from fake zeros
    vec, coef, intercept = fit_baseline(texts, y, BaselineSpec(min_df=1))
    assert np.all(coef[LABELS.index("threat")] == 0) and intercept[LABELS.index("threat")] == 0.0
    assert np.any(coef[LABELS.index("insult")] != 0)


def test_baseline_weights_are_readable_like_the_rest_of_the_run(tmp_path, tiny_data):
    import os

    from tfgbv.io import current_umask
    from tfgbv.train.baseline import train_baseline

    train_baseline(tiny_data, BaselineSpec(min_df=1, ngram_max=2), tmp_path / "run", seed=0, score_test=False)
    model_dir = tmp_path / "run" / "model"
    modes = {p.name: os.stat(p).st_mode & 0o777 for p in model_dir.iterdir()}
    assert modes["tfidf_lr.safetensors"] == modes["tfgbv_config.json"] == 0o666 & ~current_umask(), modes
