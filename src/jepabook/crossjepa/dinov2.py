"""DINOv2 ViT-S/14 in MLX, read from a local ``facebook/dinov2-small`` safetensors file.

Chapter 4 (CrossJEPA) distils from a frozen 2-D teacher. Nothing here downloads anything: a reader
who already has the Hugging Face checkpoint (``model.safetensors``) points the book at it through
the ``JEPABOOK_DINOV2`` environment variable, and :class:`DinoV2Teacher` turns images into the
teacher's CLS embeddings.

The network is the plain DINOv2 ViT: a 14×14 patch embedding, a class token, a learned position
table for a 37×37 grid (resized bicubically to other grids, as Hugging Face ``transformers`` does),
pre-norm blocks whose attention and MLP outputs are each scaled by a learned per-channel
*LayerScale* vector before the residual sum, exact (erf) GELU, LayerNorm with eps 1e-6, and a final
LayerNorm. No register tokens, no SwiGLU (those belong to other DINOv2 variants and are refused).

- :class:`DinoV2Config` holds the sizes; :func:`config_from_weights` reads them off a checkpoint.
- :class:`DinoV2` is the MLX module; :func:`load_dinov2` builds one from a file.
- :func:`interpolate_positions` resizes the position table to another token grid.
- :class:`DinoV2Teacher` wraps resizing, normalisation and batching behind ``embed(images)``.

The checkpoint's patch kernel is a convolution ``(width, 3, 14, 14)``; here the patch embedding is
:func:`~jepabook.blocks.vit.patchify` followed by a matmul, so the kernel is reordered to
``(width, 14·14·3)`` to match patchify's ``(row, column, channel)`` order.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
import numpy as np
from mlx.utils import tree_flatten, tree_unflatten

from jepabook.blocks.vit import patchify

__all__ = ["DinoV2", "DinoV2Config", "DinoV2Teacher", "config_from_weights", "interpolate_positions",
           "load_dinov2", "model_from_weights", "resize_matrix"]

ENV_VAR = "JEPABOOK_DINOV2"
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
# Our parameter name inside a block -> the checkpoint's name inside ``encoder.layer.{i}.``.
_BLOCK_KEYS = {"norm1": "norm1", "query": "attention.attention.query", "key": "attention.attention.key",
               "value": "attention.attention.value", "out": "attention.output.dense", "norm2": "norm2",
               "fc1": "mlp.fc1", "fc2": "mlp.fc2"}
# transformers >= 5 renames the attention weights in memory; accept files saved that way too.
_ALIASES = {"attention.q_proj.": "attention.attention.query.", "attention.k_proj.": "attention.attention.key.",
            "attention.v_proj.": "attention.attention.value.", "attention.o_proj.": "attention.output.dense."}


@dataclass(frozen=True)
class DinoV2Config:
    """Sizes of a DINOv2 ViT; the defaults are ViT-S/14 (``facebook/dinov2-small``)."""

    width: int = 384
    depth: int = 12
    heads: int = 6
    mlp: int = 1536
    patch: int = 14
    pos_grid: int = 37
    eps: float = 1e-6

    def __post_init__(self) -> None:
        for name in ("width", "depth", "heads", "mlp", "patch", "pos_grid"):
            if not (isinstance(getattr(self, name), int) and getattr(self, name) >= 1):
                raise ValueError(f"{name} must be a positive integer; got {getattr(self, name)!r}")
        if self.width % self.heads:
            raise ValueError(f"width={self.width} must be divisible by heads={self.heads}")


def resize_matrix(n_in: int, n_out: int, mode: str) -> np.ndarray:
    """``(n_out, n_in)`` float64 matrix of a 1-D resize with half-pixel centres (``align_corners=False``).

    Both follow PyTorch's ``F.interpolate`` without antialiasing: output pixel ``i`` reads the input at
    ``(i + 0.5)·n_in/n_out − 0.5``; taps that fall outside the input take the edge value.
    ``mode="bicubic"`` uses the Keys kernel with a = −0.75. A 2-D resize applies one matrix per axis.
    """
    if mode not in ("bilinear", "bicubic"):
        raise ValueError(f"mode must be 'bilinear' or 'bicubic'; got {mode!r}")
    src = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    if mode == "bilinear":
        offsets, base = np.arange(2), np.floor(src)
        t = src - base
        weights = np.stack([1 - t, t], axis=1)
    else:
        a, base = -0.75, np.floor(src)
        offsets, t = np.arange(-1, 3), src - base
        d = np.abs(t[:, None] - offsets[None])  # distance of each of the 4 taps, in [0, 2)
        near = ((a + 2) * d - (a + 3)) * d * d + 1
        far = ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
        weights = np.where(d <= 1, near, far)
    matrix = np.zeros((n_out, n_in))
    taps = np.clip(base[:, None].astype(int) + offsets[None], 0, n_in - 1)
    np.add.at(matrix, (np.repeat(np.arange(n_out), len(offsets)), taps.ravel()), weights.ravel())
    return matrix


def interpolate_positions(pos: np.ndarray | mx.array, grid: tuple[int, int]) -> mx.array:
    """Resize a position table ``(1, 1+g·g, d)`` to ``(1, 1+gh·gw, d)`` for the token grid ``(gh, gw)``.

    The class position is kept; the ``g×g`` patch table is resized bicubically exactly like
    ``transformers``' ``Dinov2Embeddings.interpolate_pos_encoding`` (``F.interpolate(size=grid,
    mode="bicubic", align_corners=False)``, no antialiasing, no scale offset). Identity when
    ``grid == (g, g)``.
    """
    pos = mx.array(pos, dtype=mx.float32) if isinstance(pos, np.ndarray) else pos.astype(mx.float32)
    g = int(round((pos.shape[1] - 1) ** 0.5)) if pos.ndim == 3 else -1
    if pos.ndim != 3 or pos.shape[0] != 1 or g * g != pos.shape[1] - 1:
        raise ValueError(f"pos must have shape (1, 1 + g*g, d); got {tuple(pos.shape)}")
    gh, gw = grid
    if gh < 1 or gw < 1:
        raise ValueError(f"grid must be two positive sizes; got {grid!r}")
    if (gh, gw) == (g, g):
        return pos
    d = pos.shape[2]
    rows = mx.array(resize_matrix(g, gh, "bicubic").astype(np.float32))
    cols = mx.array(resize_matrix(g, gw, "bicubic").astype(np.float32))
    table = (rows @ pos[0, 1:].reshape(g, g * d)).reshape(gh, g, d)    # resize along rows
    table = mx.einsum("wj,hjd->hwd", cols, table).reshape(1, gh * gw, d)  # then along columns
    return mx.concatenate([pos[:, :1], table], axis=1)


class _Block(nn.Module):
    """Pre-norm block with LayerScale: ``x + s1·attn(LN(x))``, then ``x + s2·MLP(LN(x))``."""

    def __init__(self, cfg: DinoV2Config):
        super().__init__()
        w, self.heads = cfg.width, cfg.heads
        self.norm1, self.norm2 = nn.LayerNorm(w, eps=cfg.eps), nn.LayerNorm(w, eps=cfg.eps)
        self.query, self.key, self.value, self.out = (nn.Linear(w, w) for _ in range(4))
        self.fc1, self.fc2 = nn.Linear(w, cfg.mlp), nn.Linear(cfg.mlp, w)
        self.scale1, self.scale2 = mx.ones((w,)), mx.ones((w,))

    def attention(self, x: mx.array) -> mx.array:
        b, n, d = x.shape
        q, k, v = (f(x).reshape(b, n, self.heads, -1).transpose(0, 2, 1, 3) for f in (self.query, self.key, self.value))
        out = mx.fast.scaled_dot_product_attention(q, k, v, scale=(d // self.heads) ** -0.5)
        return self.out(out.transpose(0, 2, 1, 3).reshape(b, n, d))

    def __call__(self, x: mx.array) -> mx.array:
        x = x + self.scale1 * self.attention(self.norm1(x))
        return x + self.scale2 * self.fc2(nn.gelu(self.fc1(self.norm2(x))))


class DinoV2(nn.Module):
    """DINOv2 ViT: ``(b, H, W, 3)`` normalised pixels → ``(b, 1 + n_patches, width)`` after the final LayerNorm.

    ``H`` and ``W`` must be multiples of the patch size; the position table is resized to the
    resulting grid. Parameters start as placeholders (zeros / ones); :func:`load_dinov2` fills them.
    """

    def __init__(self, cfg: DinoV2Config = DinoV2Config()):
        super().__init__()
        self.cfg = cfg
        self.patch_embed = nn.Linear(cfg.patch * cfg.patch * 3, cfg.width)
        self.cls_token = mx.zeros((1, 1, cfg.width))
        self.pos_embed = mx.zeros((1, 1 + cfg.pos_grid**2, cfg.width))
        self.blocks = [_Block(cfg) for _ in range(cfg.depth)]
        self.norm = nn.LayerNorm(cfg.width, eps=cfg.eps)

    def tokens(self, pixels: mx.array) -> mx.array:
        """The transformer's input ``(b, 1 + n_patches, width)``: class token, then patches row by row, plus positions."""
        if pixels.ndim != 4 or pixels.shape[-1] != 3:
            raise ValueError(f"pixels must have shape (batch, H, W, 3); got {tuple(pixels.shape)}")
        b, h, w, _ = pixels.shape
        p = self.cfg.patch
        if h % p or w % p:
            raise ValueError(f"pixels' H={h} and W={w} must be multiples of the patch size {p}")
        x = self.patch_embed(patchify(pixels, (p, p)))
        x = mx.concatenate([mx.broadcast_to(self.cls_token, (b, 1, self.cfg.width)), x], axis=1)
        return x + interpolate_positions(self.pos_embed, (h // p, w // p))

    def __call__(self, pixels: mx.array) -> mx.array:
        x = self.tokens(pixels)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)

    def cls(self, pixels: mx.array) -> mx.array:
        """The class token's output, ``(b, width)``: DINOv2's image embedding."""
        return self(pixels)[:, 0]


def _canonical(weights: dict) -> dict:
    """Checkpoint names as on the Hub: drop a ``dinov2.`` prefix, undo transformers-5 renames."""
    out = {}
    for key, value in weights.items():
        key = key.removeprefix("dinov2.")
        for new, old in _ALIASES.items():
            key = key.replace(new, old)
        out[key] = value
    return out


def _require(weights: dict, keys: list[str]) -> None:
    missing = [k for k in keys if k not in weights]
    if missing:
        raise ValueError(f"DINOv2 checkpoint is missing {len(missing)} key(s), e.g. {missing[:5]}")


def config_from_weights(weights: dict, heads: int = 6) -> DinoV2Config:
    """Read width, depth, MLP width, patch size and position grid off a checkpoint's shapes.

    The number of heads is not visible in the shapes; pass it (6 for ViT-S).
    """
    weights = _canonical(weights)
    if "embeddings.register_tokens" in weights or any(".mlp.weights_in." in k for k in weights):
        raise ValueError("this looks like a DINOv2 variant with registers or SwiGLU; only the plain ViT is supported")
    _require(weights, ["embeddings.cls_token", "embeddings.position_embeddings",
                       "embeddings.patch_embeddings.projection.weight", "encoder.layer.0.mlp.fc1.weight"])
    layers = {int(m.group(1)) for k in weights if (m := re.match(r"encoder\.layer\.(\d+)\.", k))}
    n_pos = weights["embeddings.position_embeddings"].shape[1] - 1
    grid = int(round(n_pos**0.5))
    if grid * grid != n_pos:
        raise ValueError(f"embeddings.position_embeddings holds {n_pos} patch positions, not a square grid")
    return DinoV2Config(width=int(weights["embeddings.cls_token"].shape[-1]), depth=max(layers) + 1,
                        heads=heads, mlp=int(weights["encoder.layer.0.mlp.fc1.weight"].shape[0]),
                        patch=int(weights["embeddings.patch_embeddings.projection.weight"].shape[-1]),
                        pos_grid=grid)


def _file_keys(cfg: DinoV2Config) -> dict[str, str]:
    """Our parameter path → the checkpoint key it comes from."""
    keys = {"cls_token": "embeddings.cls_token", "pos_embed": "embeddings.position_embeddings",
            "patch_embed.weight": "embeddings.patch_embeddings.projection.weight",
            "patch_embed.bias": "embeddings.patch_embeddings.projection.bias",
            "norm.weight": "layernorm.weight", "norm.bias": "layernorm.bias"}
    for i in range(cfg.depth):
        for ours, theirs in _BLOCK_KEYS.items():
            for leaf in ("weight", "bias"):
                keys[f"blocks.{i}.{ours}.{leaf}"] = f"encoder.layer.{i}.{theirs}.{leaf}"
        for j in (1, 2):
            keys[f"blocks.{i}.scale{j}"] = f"encoder.layer.{i}.layer_scale{j}.lambda1"
    return keys


def model_from_weights(weights: dict, heads: int = 6) -> DinoV2:
    """Build a :class:`DinoV2` from an in-memory checkpoint dict (names as in the Hub file)."""
    weights = _canonical(weights)
    cfg = config_from_weights(weights, heads)
    model = DinoV2(cfg)
    keys = _file_keys(cfg)
    _require(weights, list(keys.values()))
    expected = dict(tree_flatten(model.parameters()))
    params = []
    for ours, theirs in keys.items():
        value = mx.array(weights[theirs]).astype(mx.float32)
        if ours == "patch_embed.weight":  # OIHW conv kernel -> (out, row·col·channel) for patchify
            if value.ndim != 4 or value.shape[1] != 3:
                raise ValueError(f"{theirs} must have shape (width, 3, patch, patch); got {tuple(value.shape)}")
            value = value.transpose(0, 2, 3, 1).reshape(cfg.width, -1)
        if tuple(value.shape) != tuple(expected[ours].shape):
            raise ValueError(f"{theirs} has shape {tuple(weights[theirs].shape)}; expected "
                             f"{tuple(expected[ours].shape)} for {cfg}")
        params.append((ours, value))
    model.update(tree_unflatten(params))
    model.freeze()
    return model


def load_dinov2(path: str | os.PathLike, heads: int = 6) -> DinoV2:
    """Load a DINOv2 ViT from a local transformers-format ``model.safetensors`` (never downloads)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"DINOv2 weights not found at {str(path)!r}. Nothing is downloaded: put a local copy of "
            f"facebook/dinov2-small's model.safetensors there, or set {ENV_VAR} to its path.")
    return model_from_weights(mx.load(str(path)), heads)


def _resize(images: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize ``(n, H, W, c)`` → ``(n, size, size, c)`` with half-pixel centres, no antialiasing."""
    n, h, w, c = images.shape
    if (h, w) == (size, size):
        return images
    rows, cols = resize_matrix(h, size, "bilinear"), resize_matrix(w, size, "bilinear")
    out = (rows.astype(np.float32) @ images.reshape(n, h, w * c)).reshape(n, size, w, c)  # along rows
    return (out.transpose(0, 1, 3, 2) @ cols.T.astype(np.float32)).transpose(0, 1, 3, 2)   # along columns


class DinoV2Teacher:
    """Frozen teacher: images ``(n, H, W, 3)`` float in [0, 1] → ``(n, width)`` float32 CLS embeddings.

    Each batch is resized bilinearly to ``image_size`` (see :func:`resize_matrix`; no antialiasing,
    which matters only when shrinking), normalised with ImageNet's mean and std, and run through
    the network. The file is hashed when the teacher is built: :meth:`fingerprint` names the
    weights actually in use plus the preprocessing, for keying a feature cache.
    """

    name: str = "dinov2-small"

    def __init__(self, path: str | os.PathLike, image_size: int = 224, batch_size: int = 16, heads: int = 6):
        self.model = load_dinov2(path, heads)
        patch = self.model.cfg.patch
        if not (isinstance(image_size, int) and image_size >= patch and image_size % patch == 0):
            raise ValueError(f"image_size must be a positive multiple of the patch size {patch}; got {image_size!r}")
        if not (isinstance(batch_size, int) and batch_size >= 1):
            raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
        self.path, self.image_size, self.batch_size = Path(path), image_size, batch_size
        digest = hashlib.sha256(self.path.read_bytes())
        digest.update(f"|image_size={image_size}|bilinear|mean={MEAN.tolist()}|std={STD.tolist()}".encode())
        self._fingerprint = digest.hexdigest()

    def fingerprint(self) -> str:
        """sha256 of the weight file's bytes and the preprocessing settings (hex)."""
        return self._fingerprint

    def embed(self, images: np.ndarray) -> np.ndarray:
        """CLS embeddings ``(n, width)`` float32 of images ``(n, H, W, 3)`` with values in [0, 1]."""
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"images must have shape (n, H, W, 3); got {images.shape}")
        out = [np.zeros((0, self.model.cfg.width), np.float32)]
        for start in range(0, len(images), self.batch_size):
            batch = _resize(images[start:start + self.batch_size].astype(np.float32), self.image_size)
            pixels = mx.array((batch - MEAN) / STD)
            out.append(np.array(self.model.cls(pixels), dtype=np.float32))
        return np.concatenate(out)
