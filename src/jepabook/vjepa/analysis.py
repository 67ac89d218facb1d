"""Tables and figure data for Chapter 3 (V-JEPA), computed from a run's per-seed metrics.

Explained in Chapter 3. Nothing here trains; every function reads a :class:`VJEPARun`'s
``metrics`` (arm-suffixed per-seed lists) or draws masks for a figure.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from jepabook.core import streams
from jepabook.vjepa.experiment import ARM_METRICS, ARMS, VJEPAConfig, _generators
from jepabook.vjepa.tubes import random_tubes, tube_masks

__all__ = ["ARM_LABELS", "arm_rows", "binomial_se", "example_masks", "headroom_rows", "design_rows", "pilot_records", "pilot_rows", "spike_pick", "sweep_best", "sweep_pick", "sweep_rows",
           "world_rows"]

#: how the chapter names each arm
ARM_LABELS = {
    "untrained": "untrained",
    "l1": "features + tubes (L1)",
    "pixels": "pixels + tubes (L1)",
    "random": "features + random tubes (L1)",
    "l2": "features + tubes (L2)",
    "large_untrained": "untrained, large object",
    "large_l1": "features + tubes (L1), large object",
    "l1_fast": "features + tubes (L1), at the spike rate",
    "l2_fast": "features + tubes (L2), at the spike rate",
}


def _ms(metrics, name: str) -> tuple[float, float]:
    v = np.asarray(metrics[name], dtype=float)
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0


def arm_rows(metrics: dict[str, list[float]], arms, digits: int = 1) -> list[dict[str, str]]:
    """One row per arm: both probes of the target encoder and its feature rank, as ``mean ± sd`` over seeds."""
    rows = []
    for a in arms:
        if a not in ARM_METRICS or ARM_METRICS[a]["attn"] not in metrics:
            continue
        row = {"arm": ARM_LABELS.get(a, a)}
        for col, key in (("target: pool", "pool"), ("target: attentive", "attn"),
                         ("feature rank", "rank")):
            name = ARM_METRICS[a][key]
            if name in metrics:
                m, s = _ms(metrics, name)
                row[col] = f"{m:.{digits}f} ± {s:.{digits}f}"
            else:
                row[col] = "—"
        rows.append(row)
    return rows


def binomial_se(accuracy_pct: float, n_test: int) -> float:
    """Standard error (points) of one held-out accuracy from the draw of its ``n_test`` clips."""
    p = accuracy_pct / 100
    return 100 * math.sqrt(max(p * (1 - p), 0.0) / n_test)


def example_masks(config: VJEPAConfig, seed: int = 0, batch: int = 3) -> dict[str, np.ndarray]:
    """``(batch, frames, rows, cols)`` hidden-token maps of each generator and of the random tube, for a
    figure: the union of blocks (``short``, ``long``) and what the fixed-count subset leaves to the
    context encoder (``short_context``, ``long_context``)."""
    rng = streams.rng(seed, "figure", "masks")
    out = {}
    uniforms = tuple(float(u) for u in rng.random(3))
    for g, k_ctx, k_tgt in _generators(ARMS["l1"], config, seed):
        m = tube_masks(rng, batch, config.grid, g, k_ctx, k_tgt, uniforms=uniforms)
        out[g["name"]] = m.masked
        kept = np.zeros((batch, int(np.prod(config.grid))), dtype=bool)
        np.put_along_axis(kept, m.context, True, axis=1)
        out[f"{g['name']}_context"] = kept.reshape(m.masked.shape)
    out["random"] = random_tubes(rng, batch, config.grid, config.random_ratio).masked
    return out


def headroom_rows(metrics: dict[str, list[float]], seeds, digits: int = 1) -> list[dict[str, str]]:
    """Per seed: the untrained encoder's attentive probe, V-JEPA's (L1, tubes), the seed's supervised
    ceiling and the headroom (ceiling − untrained), in % and points."""
    cols = (("untrained", "attn_untrained"), ("V-JEPA (L1, tubes)", "attn_l1"), ("ceiling", "supervised"),
            ("headroom", "headroom"))
    return [{"seed": str(s), **{label: f"{metrics[name][i]:.{digits}f}" for label, name in cols if name in metrics}}
            for i, s in enumerate(seeds)]


def pilot_records(path: str | Path) -> list[dict]:
    """The JSON lines of a pilot record under ``results/pilots/`` (one run a line)."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def _cell(v) -> str:
    """A pilot value as the tables print it: accuracies to 0.1 point, small settings to 3 significant digits."""
    if isinstance(v, float):
        return f"{v:.1f}" if abs(v) >= 10 else f"{v:.3g}"
    return str(v)


def pilot_rows(records: list[dict], stage: str, columns: dict[str, str], defaults: dict | None = None) -> list[dict]:
    """The records of one pilot ``stage`` as table rows of strings: ``columns`` maps a record key to its
    column name; a key a record lacks reads ``defaults[key]`` (the pilot's default setting) or ``—``."""
    defaults = defaults or {}
    return [{name: _cell(r.get(key, defaults.get(key, "—"))) for key, name in columns.items()}
            for r in records if r.get("stage") == stage]


def world_rows(records: list[dict], config: VJEPAConfig, stage: str) -> list[dict]:
    """The pilot records of ``stage`` run in ``config``'s world and tokeniser (frame size, tubelet, object
    area, speed, noise, labelled clips), the ones the chapter's design was chosen on."""
    world = {"size": config.size, "tubelet": ",".join(map(str, config.tubelet)), "object_area": config.object_area,
             "speed": config.speed, "noise": config.noise, "n_probe": config.n_probe}
    return [r for r in records if r.get("stage") == stage and all(r.get(k) == v for k, v in world.items())]


def sweep_rows(records: list[dict], config: VJEPAConfig, ema_sum: float = 3.0) -> list[dict]:
    """The one-seed sweep's ``recipe`` runs that the picks compare: in ``config``'s world, with feature
    targets, tubes, ``config.steps`` steps and Σ(1 − τ) = ``ema_sum``."""
    return [r for r in world_rows(records, config, "recipe")
            if (r.get("targets", "features"), r.get("masking", "tubes"), r["steps"], r["ema_sum"])
            == ("features", "tubes", config.steps, ema_sum)]


def sweep_best(records: list[dict], config: VJEPAConfig, ema_sum: float = 3.0) -> dict[float, dict]:
    """Each loss power's run of :func:`sweep_rows` whose target encoder's attentive probe read highest
    (the first such run on a tie)."""
    rows = sweep_rows(records, config, ema_sum)
    return {p: max((r for r in rows if r["power"] == p), key=lambda r: r["attn"])
            for p in dict.fromkeys(r["power"] for r in rows)}


def sweep_pick(records: list[dict], config: VJEPAConfig, ema_sum: float = 3.0) -> dict[float, float]:
    """Each loss power's best learning rate in the one-seed sweep (the rate of its :func:`sweep_best` run)."""
    return {power: r["lr"] for power, r in sweep_best(records, config, ema_sum).items()}


def spike_pick(records: list[dict], config: VJEPAConfig, ema_sum: float = 3.0) -> float | None:
    """The lowest learning rate at which some run of :func:`sweep_rows` (either loss) had a loss spike;
    ``None`` if none did."""
    rates = [r["lr"] for r in sweep_rows(records, config, ema_sum) if r["spikes"] > 0]
    return min(rates) if rates else None


#: what makes one world and tokeniser of the dots pilot (the record's keys)
DESIGN_KEYS = ("tubelet", "size", "object_area", "speed", "noise", "n_probe")


def design_rows(records: list[dict], defaults: dict | None = None) -> list[dict]:
    """One row per world and tokeniser of a pilot record (in the order first met): the untrained encoder's
    attentive probe on clips and on motionless clips (``floor``) and the held-out accuracy of the ViT
    trained from scratch (``ceiling``, the best if several), as numbers (``None`` where not run)."""
    defaults = defaults or {}
    rows: dict[tuple, dict] = {}
    for r in records:
        if r.get("stage") not in ("floor", "ceiling"):
            continue
        key = tuple(r.get(k, defaults.get(k)) for k in DESIGN_KEYS)
        row = rows.setdefault(key, dict(zip(DESIGN_KEYS, key)) | {"untrained": None, "frame": None, "scratch": None})
        if r["stage"] == "floor":
            row["untrained"], row["frame"] = r["attn"], r["still_attn"]
        elif row["scratch"] is None or r["supervised"] > row["scratch"]:
            row["scratch"] = r["supervised"]
    return list(rows.values())
