"""Int8 CPU inference: SmoothQuant-style smoothing, then PyTorch 2 export static quantisation for x86 (oneDNN).

Why int8: at the shapes of comment scoring, int8 matrix products (VNNI/AMX) run about twice as fast as bf16 ones.
Why smoothing: a few input channels of the encoder's linears (above all the FFN output layer's, after the GELU) have
ranges far above the rest, so one int8 scale per tensor loses the small channels. SmoothQuant (Xiao et al., 2023)
moves that range into the weights: x W^T = (x / s) (W s)^T with s_j = max|x_j|^alpha / max|W_:,j|^(1 - alpha),
exact in real arithmetic; the divided activations and scaled weights both quantise well. The ranges are measured on
calibration texts. The quantised graph is torchao's PT2E flow with the X86 Inductor quantizer (static per-tensor
activations, per-channel weights): torch.compile then lowers it to fused oneDNN int8 linears. The classification head
(pooler, classifier) stays in floating point.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

import torch
from torch import nn

# transformers imports torchao itself whenever it is installed, so this costs no start-up time.
from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
from torchao.quantization.pt2e.quantizer import x86_inductor_quantizer as x86

# Of the alphas tried on the default run (0.5, 0.8, 0.9; one-off trials, not a generated report), 0.8 agreed best
# with fp32 on bundled and real texts.
SMOOTHING_ALPHA = 0.8
_EPS = 1e-5


class SmoothedLinear(nn.Module):
    """`linear(x)` computed as `(x / s) (W s)^T + b` (see the module docstring); same output in real arithmetic."""

    def __init__(self, linear: nn.Linear, input_range: torch.Tensor, alpha: float = SMOOTHING_ALPHA):
        super().__init__()
        weight = linear.weight.detach().float()
        scale = input_range.float().clamp(min=_EPS) ** alpha / weight.abs().amax(0).clamp(min=_EPS) ** (1 - alpha)
        scale = scale.clamp(min=_EPS)
        self.register_buffer("inv_scale", (1.0 / scale).to(linear.weight.dtype))
        self.linear = nn.Linear(linear.in_features, linear.out_features, bias=linear.bias is not None)
        self.linear.to(linear.weight.dtype)
        with torch.no_grad():
            self.linear.weight.copy_(weight * scale[None, :])
            if linear.bias is not None:
                self.linear.bias.copy_(linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x * self.inv_scale)


def encoder(model: nn.Module) -> nn.Module:
    """The transformer encoder of a transformers sequence classifier (BERT family: `base_model.encoder`)."""
    found = getattr(getattr(model, "base_model", model), "encoder", None)
    if not isinstance(found, nn.Module):
        raise ValueError(f"int8: {type(model).__name__} has no `base_model.encoder` to quantise")
    return found


def encoder_linears(model: nn.Module) -> dict[str, nn.Linear]:
    """{qualified name: module} of every nn.Linear in the encoder (the layers int8 quantises)."""
    prefix = next(name for name, mod in model.named_modules() if mod is encoder(model))
    return {
        f"{prefix}.{name}": mod for name, mod in encoder(model).named_modules() if isinstance(mod, nn.Linear) and name
    }


@contextmanager
def recorded_input_ranges(model: nn.Module) -> Iterator[dict[str, torch.Tensor]]:
    """While open, the per-channel max |input| of every encoder linear, over all calls, fills the yielded dict."""
    ranges: dict[str, torch.Tensor] = {}

    def recorder(name: str):
        def hook(module, inputs, output):
            x = inputs[0].detach()
            m = x.reshape(-1, x.shape[-1]).abs().amax(0).float()
            ranges[name] = torch.maximum(ranges[name], m) if name in ranges else m

        return hook

    handles = [mod.register_forward_hook(recorder(name)) for name, mod in encoder_linears(model).items()]
    try:
        yield ranges
    finally:
        for handle in handles:
            handle.remove()


def smooth_linears(model: nn.Module, ranges: dict[str, torch.Tensor], alpha: float = SMOOTHING_ALPHA) -> int:
    """Replace each encoder linear with its SmoothedLinear (in place); returns how many. Every one needs a range."""
    linears = encoder_linears(model)
    missing = sorted(set(linears) - set(ranges))
    if missing:
        raise ValueError(f"int8: no calibration range for {missing[:3]} (the calibration texts never reached them)")
    for name, linear in linears.items():
        parent_name, _, attr = name.rpartition(".")
        setattr(model.get_submodule(parent_name), attr, SmoothedLinear(linear, ranges[name], alpha))
    return len(linears)


class LogitsOnly(nn.Module):
    """`(input_ids, attention_mask) -> logits`: the tensor-only signature torch.export needs."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


def quantise_int8(model: nn.Module, calibrate: Callable[[nn.Module], None]) -> nn.Module:
    """A static int8 graph of an fp32 `model` (call smooth_linears first): exported with dynamic batch size and
    length, observed while `calibrate(prepared)` runs it on calibration inputs, converted. Only the encoder's
    linears are quantised. Run it under torch.compile with freezing (see tfgbv.predict.transformer.int8_forward)."""
    wrapped = LogitsOnly(model).eval()
    max_len = int(getattr(model.config, "max_position_embeddings", 512))
    batch, length = torch.export.Dim("batch", min=1, max=4096), torch.export.Dim("length", min=2, max=max_len)
    example = (torch.ones(4, 16, dtype=torch.long), torch.ones(4, 16, dtype=torch.long))
    with torch.no_grad():
        graph = torch.export.export(
            wrapped, example, dynamic_shapes=({0: batch, 1: length}, {0: batch, 1: length})
        ).module()
    quantizer = x86.X86InductorQuantizer()
    quantizer.set_global(x86.get_default_x86_inductor_quantization_config())
    inside = set(encoder_linears(model))
    for name, mod in model.named_modules():
        if isinstance(mod, nn.Linear) and name not in inside:
            quantizer.set_module_name_qconfig(f"model.{name}", None)  # the head stays in floating point
    prepared = prepare_pt2e(graph, quantizer)
    with torch.no_grad():
        calibrate(prepared)
    return convert_pt2e(prepared)
