"""Self-attention for CPU inference on short comments, registered with transformers' AttentionInterface.

PyTorch's CPU flash-attention kernel (what `sdpa` runs) and the softmax of the `eager` path are slow in bf16 at the
~30-token sequences of social-media comments: in a profile of the default run most of attention's time went to the
softmax, not to its two small matrix products (the torch_bf16 rows of docs/bench.md measure the result). This is the
eager attention with the softmax computed in fp32 (fast, and more exact than a bf16 softmax), its probabilities cast
back to the model's dtype for the second product. An inference option: the saved model still says `sdpa`.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import AttentionInterface, AttentionMaskInterface
from transformers.masking_utils import eager_mask

CPU_ATTENTION = "tfgbv_cpu"


def cpu_attention_forward(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float | None = None,
    dropout: float = 0.0,
    **kwargs,
) -> tuple[torch.Tensor, None]:
    """[batch, heads, len, dim] query/key/value and an additive mask -> ([batch, len, heads, dim] output, None)."""
    if scaling is None:
        scaling = query.size(-1) ** -0.5
    scores = torch.matmul(query, key.transpose(2, 3)) * scaling
    if attention_mask is not None:
        scores = scores + attention_mask
    probs = torch.softmax(scores, dim=-1, dtype=torch.float32)
    probs = nn.functional.dropout(probs, p=dropout, training=module.training).to(value.dtype)
    return torch.matmul(probs, value).transpose(1, 2).contiguous(), None


AttentionInterface.register(CPU_ATTENTION, cpu_attention_forward)
AttentionMaskInterface.register(CPU_ATTENTION, eager_mask)


def use_cpu_attention(model) -> bool:
    """Switch a loaded transformers model to CPU_ATTENTION in place; False (model unchanged) for a model without
    transformers' attention interface."""
    try:
        model.set_attn_implementation(CPU_ATTENTION)
    except (AttributeError, ValueError):
        return False
    return True
