"""PyTorch re-implementations of the Chapter 2 and Chapter 5 training steps: what MLX costs on a Linux CPU.

Needs the benchmark-only extra (``pip install -e '.[bench]'``, PyTorch's CPU wheel is enough); the book
never imports this module. ``bench_steps.py --torch`` times these steps side by side with MLX's.

Each step is the chapter's own at its ``full`` profile, written the way a PyTorch user would write it,
on one thread (``torch.set_num_threads(1)``):

- **Chapter 2 (I-JEPA)**: the same ViT context encoder, predictor (context broadcast over the target
  blocks, one sequence per block) and frozen target encoder as ``blocks.vit`` (same widths, depths,
  heads, ReLU MLPs, fixed sin-cos positions, fused ``qkv`` projection), attention by
  ``F.scaled_dot_product_attention``; the target's features layer-normalised without affine
  (eps 1e-6); smooth-L1 (β = 1); AdamW at the profile's rate and weight decay; then the EMA update
  of the target. Same batch, same masks (the chapter's sampler, ``np.random.default_rng(0)``).
- **Chapter 5 (LeJEPA)**: the MLP ``2 → hidden … → 2`` with the exact GELU, alignment
  ``mean(((h − h′)/2)²)``, SIGReg on both views' embeddings (fresh unit directions every step, the
  Epps–Pulley statistic on 17 knots over [0, 3] by the same Chebyshev recurrence as
  ``blocks.sigreg.epps_pulley``), ``(1 − λ)·alignment + λ·SIGReg`` and the logged trace of the
  covariance; AdamW.

Two differences that do not change the work: PyTorch's AdamW always corrects Adam's bias (MLX's does
not by default: a few scalar operations), and the random draws (weights, directions) are PyTorch's.
Module and parameter names follow the MLX models', so :func:`load_from_mlx` copies an MLX model's
weights in and ``tests/test_torch_steps.py`` checks that both frameworks compute the same loss.
"""

from __future__ import annotations

import importlib.util

import numpy as np

__all__ = ["MISSING", "available", "build", "ijepa_model", "ijepa_loss", "lejepa_model", "lejepa_loss",
           "load_from_mlx"]

CHAPTERS = ("ijepa", "lejepa")
MISSING = ("PyTorch is not installed, so the PyTorch comparator is skipped; it needs the benchmark-only "
           "extra: pip install -e '.[bench]' (the CPU wheel is enough)")


def available() -> bool:
    """Whether PyTorch can be imported here (checked without importing it)."""
    return importlib.util.find_spec("torch") is not None


def _torch():
    if not available():
        raise ImportError(MISSING)
    import torch

    return torch


# --------------------------------------------------------------------------- Chapter 2


def _vit_classes():
    torch = _torch()
    nn, F = torch.nn, torch.nn.functional

    class Attention(nn.Module):
        def __init__(self, dim, heads):
            super().__init__()
            self.heads = heads
            self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)

        def forward(self, x):
            b, n, d = x.shape
            q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
            return self.proj(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n, d))

    class Block(nn.Module):
        def __init__(self, dim, heads, mlp_ratio):
            super().__init__()
            hidden = int(dim * mlp_ratio)
            self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
            self.attn = Attention(dim, heads)
            self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

        def forward(self, x):
            x = x + self.attn(self.norm1(x))
            return x + self.fc2(F.relu(self.fc1(self.norm2(x))))

    def positions(grid, dim):
        from jepabook.blocks.vit import sincos_positions

        return torch.from_numpy(np.array(sincos_positions(grid, dim)))

    class ViT(nn.Module):
        def __init__(self, patch_dim, grid, width, depth, heads, mlp_ratio):
            super().__init__()
            self.embed = nn.Linear(patch_dim, width)
            self.blocks = nn.ModuleList([Block(width, heads, mlp_ratio) for _ in range(depth)])
            self.norm = nn.LayerNorm(width)
            self.register_buffer("_pos", positions(grid, width))

        def forward(self, patches, keep=None):
            x = self.embed(patches) + self._pos
            if keep is not None:
                x = torch.gather(x, 1, keep[..., None].expand(-1, -1, x.shape[-1]))
            for block in self.blocks:
                x = block(x)
            return self.norm(x)

    class Predictor(nn.Module):
        def __init__(self, width, pred_width, grid, depth, heads, mlp_ratio):
            super().__init__()
            self.embed = nn.Linear(width, pred_width)
            self.blocks = nn.ModuleList([Block(pred_width, heads, mlp_ratio) for _ in range(depth)])
            self.norm = nn.LayerNorm(pred_width)
            self.out = nn.Linear(pred_width, width)
            self.mask_token = nn.Parameter(0.02 * torch.randn(pred_width))
            self.register_buffer("_pos", positions(grid, pred_width))

        def forward(self, context, context_idx, target_idx):
            b, kc, _ = context.shape
            _, t, kt = target_idx.shape
            ctx = self.embed(context) + self._pos[context_idx]
            queries = self.mask_token + self._pos[target_idx]
            ctx = ctx[:, None].expand(b, t, kc, ctx.shape[-1])
            x = torch.cat([ctx, queries], dim=2).reshape(b * t, kc + kt, -1)
            for block in self.blocks:
                x = block(x)
            return self.out(self.norm(x[:, kc:])).reshape(b, t, kt, -1)

    class IJEPA(nn.Module):
        def __init__(self, c):
            super().__init__()
            args = (c.patch * c.patch, c.grid, c.width, c.depth, c.heads, c.mlp_ratio)
            self.encoder = ViT(*args)
            self.predictor = Predictor(c.width, c.pred_width, c.grid, c.pred_depth, c.heads, c.mlp_ratio)
            self.target = ViT(*args)
            self.target.load_state_dict(self.encoder.state_dict())  # same start, as in the chapter
            self.target.requires_grad_(False)

    return IJEPA


def ijepa_model(config):
    """Chapter 2's model (latent targets) for ``config`` (an ``IJEPAConfig``), PyTorch's default init."""
    return _vit_classes()(config)


def ijepa_loss(model, patches, context_idx, target_idx):
    """Smooth-L1 between predicted and layer-normalised target features at the target tokens."""
    torch = _torch()
    F = torch.nn.functional
    b, t, k = target_idx.shape
    with torch.no_grad():
        full = model.target(patches)
        full = F.layer_norm(full, full.shape[-1:], eps=1e-6)
        target = torch.gather(full, 1, target_idx.reshape(b, t * k)[..., None].expand(-1, -1, full.shape[-1]))
    pred = model.predictor(model.encoder(patches, context_idx), context_idx, target_idx)
    return F.smooth_l1_loss(pred, target.reshape(b, t, k, -1), beta=1.0)


def _ijepa_step(compiled: bool):
    torch = _torch()
    from jepabook.ijepa.experiment import ARMS, PROFILES, sample_masks

    c = PROFILES["full"]
    model = ijepa_model(c)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=c.lr,
                                  weight_decay=c.weight_decay)
    m = sample_masks(ARMS["multiblock"], np.random.default_rng(0), c.batch, c)
    patches = torch.randn(c.batch, c.grid[0] * c.grid[1], c.patch**2)
    ctx, tgt = torch.from_numpy(np.asarray(m.context, np.int64)), torch.from_numpy(np.asarray(m.targets, np.int64))
    loss_fn = torch.compile(ijepa_loss, dynamic=False) if compiled else ijepa_loss
    online, target, tau = list(model.encoder.parameters()), list(model.target.parameters()), 0.99

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model, patches, ctx, tgt).backward()
        optimizer.step()
        with torch.no_grad():  # EMA: target ← τ·target + (1 − τ)·online
            torch._foreach_mul_(target, tau)
            torch._foreach_add_(target, online, alpha=1.0 - tau)

    desc = (f"ViT width {c.width} depth {c.depth}, predictor {c.pred_depth}x{c.pred_width}, "
            f"({m.context.shape[1]} context, {m.targets.shape[1]}x{m.targets.shape[2]} target), batch {c.batch}")
    return step, desc


# --------------------------------------------------------------------------- Chapter 5


def lejepa_model(learner, dim: int = 2):
    """Chapter 5's MLP encoder ``dim → hidden … → dim`` (exact GELU), PyTorch's default init."""
    torch = _torch()
    nn, F = torch.nn, torch.nn.functional
    if learner.activation != "gelu":
        raise ValueError(f"the comparator implements the exact GELU only; got activation={learner.activation!r}")
    dims = [dim] + [learner.hidden] * (learner.depth - 1) + [dim]

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:])])

        def forward(self, x):
            for layer in self.layers[:-1]:
                x = F.gelu(layer(x))
            return self.layers[-1](x)

    return MLP()


def _epps_pulley(x, t_max: float = 3.0, n_points: int = 17):
    """Per-column Epps–Pulley statistic (×N) of ``x`` (N, S): ``blocks.sigreg.epps_pulley``'s recurrence."""
    torch = _torch()
    t = np.linspace(0.0, t_max, n_points)
    dt = float(t[1] - t[0])
    weights = np.full(n_points, 2.0 * dt)
    weights[[0, -1]] = dt
    target = np.exp(-0.5 * t**2)
    wphi = torch.tensor(weights * target, dtype=torch.float32)
    target = torch.tensor(target, dtype=torch.float32)
    c1, s1 = torch.cos(dt * x), torch.sin(dt * x)
    two_c1 = 2.0 * c1
    c_prev, s_prev, c_cur, s_cur = torch.ones_like(x), torch.zeros_like(x), c1, s1
    means_c, means_s = [torch.ones(x.shape[1:])], [torch.zeros(x.shape[1:])]
    for _ in range(1, n_points):
        means_c.append(c_cur.mean(0))
        means_s.append(s_cur.mean(0))
        c_prev, c_cur = c_cur, two_c1 * c_cur - c_prev
        s_prev, s_cur = s_cur, two_c1 * s_cur - s_prev
    err = (torch.stack(means_c) - target[:, None]) ** 2 + torch.stack(means_s) ** 2
    return x.shape[0] * (err * wphi[:, None]).sum(0)


def lejepa_loss(model, x, x_next, directions, lam: float):
    """``(loss, cov_trace)``: ``(1 − λ)·alignment + λ·SIGReg`` on unit ``directions`` (dim, slices)."""
    torch = _torch()
    h, h_next = model(x), model(x_next)
    align = (((h - h_next) / 2.0) ** 2).mean()
    both = torch.cat([h, h_next])
    reg = _epps_pulley(both @ directions).mean()
    return (1.0 - lam) * align + lam * reg, both.detach().var(0, unbiased=False).sum()


def _lejepa_step(compiled: bool):
    torch = _torch()
    from jepabook.lejepa.experiment import PROFILES

    c = PROFILES["full"]
    learner = c.learner
    model = lejepa_model(learner)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learner.lr, weight_decay=learner.weight_decay)
    x, x_next = torch.randn(learner.batch, 2), torch.randn(learner.batch, 2)
    loss_fn = torch.compile(lejepa_loss, dynamic=False) if compiled else lejepa_loss

    def step():
        a = torch.randn(2, learner.num_slices)  # fresh directions every step, as the chapter draws them
        a = a / a.norm(dim=0, keepdim=True)
        optimizer.zero_grad(set_to_none=True)
        loss, _ = loss_fn(model, x, x_next, a, c.lam)
        loss.backward()
        optimizer.step()

    desc = (f"MLP 2-{learner.hidden}x{learner.depth - 1}-2 (gelu), batch {learner.batch} pairs, "
            f"SIGReg {learner.num_slices} slices")
    return step, desc


# --------------------------------------------------------------------------- shared


def build(chapter: str, compiled: bool = False):
    """``(run_one_step, description)`` of ``chapter``'s step in PyTorch, one thread; ``compiled``:
    the loss under ``torch.compile`` (the backward and the optimizer stay eager)."""
    if chapter not in CHAPTERS:
        raise ValueError(f"chapter must be one of {CHAPTERS} for the PyTorch comparator; got {chapter!r}")
    torch = _torch()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    step, desc = (_ijepa_step if chapter == "ijepa" else _lejepa_step)(compiled)
    return step, f"PyTorch {torch.__version__}{' torch.compile' if compiled else ' eager'}: {desc}"


def load_from_mlx(torch_module, mlx_module) -> None:
    """Copy every parameter of ``mlx_module`` into the PyTorch module of the same names and shapes."""
    torch = _torch()
    from mlx.utils import tree_flatten

    ours = dict(torch_module.named_parameters())
    theirs = dict(tree_flatten(mlx_module.parameters()))
    if set(ours) != set(theirs):
        raise ValueError(f"parameter names differ: only in PyTorch {sorted(set(ours) - set(theirs))}, "
                         f"only in MLX {sorted(set(theirs) - set(ours))}")
    with torch.no_grad():
        for name, p in ours.items():
            value = torch.from_numpy(np.array(theirs[name], dtype=np.float32))
            if value.shape != p.shape:
                raise ValueError(f"{name}: shape {tuple(value.shape)} in MLX, {tuple(p.shape)} in PyTorch")
            p.copy_(value)

