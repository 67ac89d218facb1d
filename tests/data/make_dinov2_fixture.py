"""Generate the tiny DINOv2 reference fixture used by ``tests/test_dinov2.py``.

NOT run by the tests, and not needed to build the book: it needs PyTorch and Hugging Face
``transformers`` (plus ``safetensors`` and ``numpy``), which the project does not depend on.
Run it once, from any environment that has them::

    python tests/data/make_dinov2_fixture.py

It builds a randomly initialised, very small ``transformers.Dinov2Model`` (width 24, 2 layers,
6 heads, patch 14, a 4x4 position grid), redraws every parameter (LayerScale, LayerNorm affine
weights and position table included) so that no part of the network is a trivial identity,
and writes two files next to itself:

- ``dinov2_tiny.safetensors``: the state dict, same key names as ``facebook/dinov2-small``.
- ``dinov2_tiny_expected.npz``: fixed inputs in NHWC layout and HF's ``last_hidden_state``
  for a 112x112 input (the 4x4 position grid is interpolated to 8x8) and a 56x56 input
  (no interpolation); and two bare resizes from ``torch.nn.functional.interpolate`` (a 7x7 grid
  shrunk bicubically to 3x5, a 5x7 image enlarged bilinearly to 8x8), in HWC layout.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from transformers import Dinov2Config, Dinov2Model

HERE = Path(__file__).resolve().parent

# transformers >= 5 renames the attention weights when it loads a checkpoint; the files on the Hub
# (and so our fixture) keep the original names. Older versions already use these names.
HUB_NAMES = {"attention.q_proj.": "attention.attention.query.", "attention.k_proj.": "attention.attention.key.",
             "attention.v_proj.": "attention.attention.value.", "attention.o_proj.": "attention.output.dense."}


def hub_name(key: str) -> str:
    """The checkpoint-file spelling of a ``Dinov2Model.state_dict()`` key."""
    for new, old in HUB_NAMES.items():
        key = key.replace(new, old)
    return key


def build_model(seed: int = 0) -> Dinov2Model:
    """A tiny DINOv2 with every parameter redrawn from a seeded generator."""
    config = Dinov2Config(hidden_size=24, num_hidden_layers=2, num_attention_heads=6,
                          intermediate_size=96, patch_size=14, image_size=56, layerscale_value=0.5,
                          attn_implementation="eager")
    model = Dinov2Model(config).eval()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=gen)
            if name.endswith("lambda1"):          # LayerScale: positive, varied around 0.5
                param.copy_(0.5 + 0.3 * noise)
            elif "norm" in name and name.endswith("weight"):
                param.copy_(1.0 + 0.2 * noise)
            elif param.ndim == 1:                 # biases
                param.copy_(0.1 * noise)
            else:
                fan_in = param[0].numel() if param.ndim > 1 else 1
                param.copy_(noise / max(fan_in, 1) ** 0.5 if "weight" in name else 0.5 * noise)
    return model


def main() -> None:
    model = build_model()
    state = {hub_name(k): v.detach().contiguous().float() for k, v in model.state_dict().items()}
    save_file(state, str(HERE / "dinov2_tiny.safetensors"))
    rng = np.random.default_rng(1)
    # Inputs on a grid of quarters in [-2, 2]: varied enough, and they compress well in the npz.
    big = (rng.integers(-8, 9, (2, 112, 112, 3)) / 4).astype(np.float32)
    small = (rng.integers(-8, 9, (2, 56, 56, 3)) / 4).astype(np.float32)
    with torch.no_grad():  # HF takes NCHW; the fixture stores NHWC like our model
        out = {name: model(pixel_values=torch.from_numpy(x).permute(0, 3, 1, 2).contiguous())
               .last_hidden_state.numpy() for name, x in (("big", big), ("small", small))}
    # Resizing alone, straight from torch: a 7x7 position grid shrunk to 3x5 (bicubic, the call
    # transformers makes) and a 5x7 image enlarged to 8x8 (bilinear, the teacher's preprocessing).
    grid = rng.standard_normal((1, 4, 7, 7)).astype(np.float32)
    image = rng.random((1, 3, 5, 7)).astype(np.float32)
    interp = torch.nn.functional.interpolate
    shrunk = interp(torch.from_numpy(grid), size=(3, 5), mode="bicubic", align_corners=False).numpy()
    grown = interp(torch.from_numpy(image), size=(8, 8), mode="bilinear", align_corners=False,
                   antialias=False).numpy()
    np.savez_compressed(HERE / "dinov2_tiny_expected.npz", input_112=big, output_112=out["big"],
                        input_56=small, output_56=out["small"],
                        grid_7x7=grid[0].transpose(1, 2, 0), grid_3x5=shrunk[0].transpose(1, 2, 0),
                        image_5x7=image[0].transpose(1, 2, 0), image_8x8=grown[0].transpose(1, 2, 0))
    print({k: tuple(v.shape) for k, v in state.items()})
    print("output shapes", {k: v.shape for k, v in out.items()})


if __name__ == "__main__":
    main()
