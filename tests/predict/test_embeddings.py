"""Embeddings for diversity: a transformer's masked mean of its last hidden state (windowed like scoring), a tfidf_lr
run's TF-IDF vectors reduced with TruncatedSVD."""

import numpy as np

from tfgbv.labels import LABELS
from tfgbv.predict.embeddings import embed
from tfgbv.predict.loading import load_classifier


def test_transformer_embeddings_are_mean_pooled_and_padding_free(tiny_run):
    clf = load_classifier(tiny_run, bf16=False)
    texts = ["короткий текст", "Шабона ба хонаат меоем, мекушемат " * 3, "короткий текст"]
    emb = embed(clf, texts)
    assert emb.shape == (3, clf.model.config.hidden_size) and np.isfinite(emb).all()
    np.testing.assert_allclose(emb[0], emb[2], atol=1e-6)
    # batched with a longer text (padding) or alone: the same vector
    np.testing.assert_allclose(embed(clf, texts[:1])[0], emb[0], atol=1e-5)
    long = embed(clf, ["слово " * 200])  # several windows of max_length tokens: their mean
    assert long.shape == (1, emb.shape[1])


def test_tfidf_embeddings_use_svd(tmp_path):
    from tfgbv.models.baseline import BaselineSpec, fit_baseline
    from tfgbv.predict.baseline import BaselineClassifier

    texts = [f"комментарий номер {i} про {w}" for i, w in enumerate(["кошку", "собаку", "дом", "лес"] * 5)]
    y = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
    y[::2, 0] = 1
    vec, coef, intercept = fit_baseline(texts, y, BaselineSpec(min_df=1))
    meta = {"labels": list(LABELS), "thresholds": dict.fromkeys(LABELS, 0.5), "text": {"deobfuscate": False}}
    clf = BaselineClassifier(vec, coef, intercept, meta, tmp_path)
    emb = embed(clf, texts, seed=1)
    assert emb.shape[0] == len(texts) and 1 <= emb.shape[1] <= 64
    np.testing.assert_allclose(emb, embed(clf, texts, seed=1))
