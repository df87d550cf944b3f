"""Text embeddings from a loaded classifier, for diversity-based selection of comments to annotate.

A transformer run embeds a text as the masked mean of its encoder's last hidden state (padding excluded), batched and
windowed exactly like scoring (`predict.transformer.window_outputs`); an over-long text is the mean of its windows.
A tfidf_lr run has no encoder: its TF-IDF vectors are reduced with TruncatedSVD (fitted on the texts given, seeded),
so cosine distances stay meaningful and the k-center traversal does not work in 300,000 dimensions.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from tfgbv.predict.base import checked_texts
from tfgbv.predict.baseline import BaselineClassifier
from tfgbv.predict.transformer import Classifier, window_outputs

SVD_COMPONENTS = 64  # enough to separate paraphrases from different comments; small enough for k-center


def encoder_forward(model):
    """`forward(input_ids, attention)` -> [batch, hidden] masked mean of the encoder's last hidden state, in the
    model's own dtype (a bf16 classifier's weights are bf16 already)."""
    device = next(model.parameters()).device
    model.eval()
    encoder = model.base_model  # the encoder under the classification head (BertModel, XLMRobertaModel, ...)

    def forward(input_ids: np.ndarray, attention: np.ndarray) -> np.ndarray:
        mask = torch.from_numpy(attention).to(device)
        with torch.inference_mode():
            hidden = encoder(input_ids=torch.from_numpy(input_ids).to(device), attention_mask=mask).last_hidden_state
        hidden = hidden.float()
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        return ((hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)).cpu().numpy()

    return forward


def transformer_embeddings(clf: Classifier, texts: Sequence[str]) -> np.ndarray:
    width = int(clf.model.config.hidden_size)
    if not texts:
        return np.zeros((0, width), dtype=np.float32)
    forward = encoder_forward(clf.model)
    windows, owner = window_outputs(forward, clf.tokenizer, texts, clf.prep, width, clf.batch_size, clf.batch_tokens)
    sums = np.zeros((len(texts), width), dtype=np.float64)
    np.add.at(sums, owner, windows)
    counts = np.bincount(owner, minlength=len(texts)).astype(np.float64)
    return (sums / np.maximum(counts, 1.0)[:, None]).astype(np.float32)


def tfidf_embeddings(clf: BaselineClassifier, texts: Sequence[str], seed: int = 0) -> np.ndarray:
    from sklearn.decomposition import TruncatedSVD  # lazy: only the tfidf_lr baseline needs scikit-learn

    if not texts:
        return np.zeros((0, 1), dtype=np.float32)
    X = clf.vectorizer.transform([clf.prep(t) for t in texts])
    k = min(SVD_COMPONENTS, X.shape[1] - 1, X.shape[0] - 1)
    if k < 1:  # one text (or a one-word vocabulary): nothing to reduce
        return np.asarray(X.todense(), dtype=np.float32)
    return TruncatedSVD(n_components=k, random_state=seed).fit_transform(X).astype(np.float32)


def embed(clf, texts: Sequence[str], seed: int = 0) -> np.ndarray:
    """[N, D] embeddings of `texts` from a loaded transformer Classifier or tfidf_lr BaselineClassifier."""
    texts = checked_texts(texts, getattr(clf, "max_chars", len(max(texts, key=len, default=""))))
    if isinstance(clf, BaselineClassifier):
        return tfidf_embeddings(clf, texts, seed)
    if isinstance(clf, Classifier):
        return transformer_embeddings(clf, texts)
    raise TypeError(f"no embeddings for a {type(clf).__name__}: use the torch backend or a tfidf_lr run")
