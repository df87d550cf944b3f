"""Int8 scoring's model transforms: smoothing changes no output, ranges are recorded per channel, the quantised graph
keeps the fp32 model's answers and leaves the classification head in floating point."""

import pytest
import torch
from torch import nn
from transformers import BertConfig, BertForSequenceClassification

from tfgbv.models.int8 import (
    SmoothedLinear,
    encoder_linears,
    quantise_int8,
    recorded_input_ranges,
    smooth_linears,
)


def tiny_bert(seed: int = 0) -> BertForSequenceClassification:
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=200,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        num_labels=4,
    )
    return BertForSequenceClassification(config).eval()


def batches(n: int = 6, seed: int = 1):
    gen = torch.Generator().manual_seed(seed)
    for i in range(n):
        length = 5 + 3 * i
        ids = torch.randint(5, 200, (4, length), generator=gen)
        mask = torch.ones_like(ids)
        mask[0, length // 2 :] = 0  # one padded row per batch
        yield ids, mask


def test_smoothing_moves_range_into_the_weights_without_changing_the_output():
    torch.manual_seed(0)
    linear = nn.Linear(16, 8)
    x = torch.randn(10, 16)
    x[:, 3] *= 50  # an outlier channel, as after a GELU
    smoothed = SmoothedLinear(linear, x.abs().amax(0), alpha=0.8)
    torch.testing.assert_close(smoothed(x), linear(x), atol=1e-4, rtol=1e-4)
    # The outlier channel is divided most: what the int8 activation scale sees is flatter.
    assert (x * smoothed.inv_scale).abs().amax(0).std() < x.abs().amax(0).std()


def test_input_ranges_are_per_channel_maxima_over_every_call_and_hooks_are_removed():
    model = tiny_bert()
    with recorded_input_ranges(model) as ranges, torch.no_grad():
        for ids, mask in batches():
            model(input_ids=ids, attention_mask=mask)
    assert set(ranges) == set(encoder_linears(model))
    assert len(ranges) == 2 * 6  # q, k, v, attention output, FFN in, FFN out per layer
    name = "bert.encoder.layer.0.intermediate.dense"
    assert ranges[name].shape == (32,) and (ranges[name] > 0).all()
    assert all(not mod._forward_hooks for mod in encoder_linears(model).values())


def test_smoothed_model_scores_like_the_original_and_every_linear_needs_a_range():
    model, reference = tiny_bert(), tiny_bert()
    with recorded_input_ranges(model) as ranges, torch.no_grad():
        for ids, mask in batches():
            model(input_ids=ids, attention_mask=mask)
    with pytest.raises(ValueError, match="no calibration range"):
        smooth_linears(tiny_bert(), {})
    assert smooth_linears(model, ranges) == 12
    assert all(isinstance(m, SmoothedLinear) for n, m in model.named_modules() if n.endswith("intermediate.dense"))
    with torch.no_grad():
        for ids, mask in batches(seed=7):
            torch.testing.assert_close(
                model(input_ids=ids, attention_mask=mask).logits,
                reference(input_ids=ids, attention_mask=mask).logits,
                atol=1e-4,
                rtol=1e-4,
            )


@pytest.mark.slow
def test_quantised_graph_keeps_the_answers_on_new_shapes_and_the_head_in_floating_point():
    model, reference = tiny_bert(), tiny_bert()
    with recorded_input_ranges(model) as ranges, torch.no_grad():
        for ids, mask in batches():
            model(input_ids=ids, attention_mask=mask)
    smooth_linears(model, ranges)

    def calibrate(prepared):
        for ids, mask in batches():
            prepared(ids, mask)

    graph = quantise_int8(model, calibrate)
    linears = [n for n in graph.graph.nodes if n.op == "call_function" and "linear" in str(n.target)]
    weight_source = {n.args[2].name: str(getattr(n.args[1], "target", "")) for n in linears}
    encoder = {k: v for k, v in weight_source.items() if "encoder" in k}
    head = {k: v for k, v in weight_source.items() if "encoder" not in k}
    assert len(encoder) == 12 and all("dequantize_per_channel" in v for v in encoder.values())  # int8 weights
    assert len(head) == 2 and not any("quantize" in v for v in head.values())  # pooler, classifier: float weights
    with torch.no_grad():
        for ids, mask in batches(n=3, seed=11):  # batch shapes the calibration never saw
            got = graph(ids, mask)
            want = reference(input_ids=ids, attention_mask=mask).logits
            assert got.shape == want.shape
            assert (got - want).abs().max() < 0.05 * want.abs().max() + 0.02
