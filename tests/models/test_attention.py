"""The CPU attention gives the same outputs as PyTorch's SDPA, with padding masks, and models switch to it."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from transformers.masking_utils import create_bidirectional_mask

from tfgbv.models.attention import CPU_ATTENTION, cpu_attention_forward, use_cpu_attention
from tfgbv.predict.transformer import Classifier

TEXTS = ["ты дура", "салом дӯстон", "Позор семьи, где её братья?", "x", "Шабона ба хонаат меоем " * 12] * 3


@pytest.mark.parametrize("dtype,atol", [(torch.float32, 1e-5), (torch.bfloat16, 2e-2)])
def test_cpu_attention_matches_sdpa_on_padded_batches(dtype, atol):
    torch.manual_seed(0)
    q, k, v = (torch.randn(3, 2, 7, 8, dtype=dtype) for _ in range(3))
    keep = torch.arange(7)[None, :] < torch.tensor([7, 4, 1])[:, None]
    additive = torch.zeros(3, 1, 7, 7, dtype=dtype).masked_fill(~keep[:, None, None, :], torch.finfo(dtype).min)
    module = torch.nn.Module().eval()
    out, weights = cpu_attention_forward(module, q, k, v, additive)
    want = F.scaled_dot_product_attention(q.float(), k.float(), v.float(), attn_mask=keep[:, None, None, :])
    assert weights is None and out.dtype == dtype and out.shape == (3, 7, 2, 8)
    torch.testing.assert_close(out.float(), want.transpose(1, 2), atol=atol, rtol=0)


def test_classifier_switches_to_cpu_attention_and_scores_like_sdpa(tiny_run):
    clf = Classifier.from_pretrained(tiny_run)
    assert clf.model.config._attn_implementation == CPU_ATTENTION
    ours = clf.predict_proba(TEXTS)
    clf.model.set_attn_implementation("sdpa")
    np.testing.assert_allclose(clf.predict_proba(TEXTS), ours, atol=1e-5)


def test_model_without_the_attention_interface_is_left_unchanged():
    assert use_cpu_attention(torch.nn.Linear(2, 2)) is False


def test_mask_for_cpu_attention_is_additive():
    cfg = type("Cfg", (), {"_attn_implementation": CPU_ATTENTION})()
    emb = torch.zeros(2, 3, 4)
    mask = create_bidirectional_mask(config=cfg, inputs_embeds=emb, attention_mask=torch.tensor([[1, 1, 0], [1, 1, 1]]))
    assert mask is not None and mask.dtype == emb.dtype and mask[0, 0, 0, 2] < -1e30 and mask[0, 0, 0, 0] == 0
