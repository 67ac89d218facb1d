"""The claims Chapter 5 tests, each with the rule that decides its verdict.

Re-registered (issue "Chapter 5: test what the LeJEPA world-model paper claims, in the paper's worlds")
before any full-profile run of the new design, from the wording of each claim:

- "recovered up to rotation" is read as R²(h → z) > 0.95; the coupling flow is learned by the official
  code's matched encoder; the spiral, which the laptop validation calls the hardest case
  (0.849 ± 0.039), as R² > 0.8 and below the parabolic shear;
- T2 in the official code's additive-noise world: "broad plateau" as R² > 0.95 at every α of the sweep;
  "peaks at α = 2" as the largest mean there;
- Theorem 3 is stated for Gaussian latents with E[h] = 0, so the bound is checked on every α = 2 run
  the chapter made, on the centred embedding and a whitened evaluation set (mean ‖z‖² exactly n), with
  a stated slack of :data:`T3_SLACK` for the finite evaluation sample; at least 90 % of runs obeying
  (the paper's own record: all but two) reads ``direction only``;
- "near-straight" plan as a path-length ratio below 1.25 (at most 25 % longer than straight);
- the regime map on the spiral, at the views' correlations of the paper's columns: collapse as
  tr Cov(h) < 0.02 (1 % of the whitened value 2) at every ρ; "good band" as R² > 0.9; "fragile" as
  non-monotone in ρ (peak at the middle ρ) at λ = 0.1; "too strong" (an uninformative Gaussian) as
  R² within 0.1 of what the raw observations give (R²(x → z)) with the cloud not collapsed
  (tr Cov(h) > 1). The good and fragile bands are judged only where their runs have settled: the
  precondition is that R² moved by less than :data:`SETTLED` over the runs' last quarter (the seed
  mean of |ΔR²|, per cell). Added after
  the first full run, whose fragile row "passed" with every cell still in the identity trap (R² 0.02 /
  0.08 / 0.02 against the raw 0.015): the fragile band also needs its middle ρ out of the trap
  (R² above the raw observations' by 0.1), else it is not testable here;
- "SIGReg sits at its floor ≈ 1.05" on the trained shear encoders' embeddings z-scored (shape without
  scale), as within 0.2 of 1.052 (the [0,3]×17 quadrature's value; the world-model paper reads ≈ 1.2);
- the scale the combined loss leaves: the trained cloud's per-coordinate scale s within 0.02 of the
  analytic optimum s(λ) of (1 − λ)·alignment + λ·E[SIGReg] over isotropic Gaussians (derived in the
  chapter), an extension;
- "needs a moment-matching term": at the smallest λ tried, where pure SIGReg is required to collapse
  (precondition: tr Cov < 0.02), SIGReg + the moment term (same weight, on SIGReg's ×N scale)
  recovers the latents (R² > 0.9).

Re-registered for verdicts version 3 (issue 25), before the runs that judge them: the claims read the
metrics under the names the runs produce (:mod:`jepabook.lejepa.names`; display labels are the claims'
``label`` and ``rule_text``, never renamed measurements); Theorem 3 counts only the informative runs,
those whose bound is below the trivial one (the error of h = 0, which every encoder meets), and shows
how tight the bound is there (error / bound); the shrinkage claim's precondition is that the trained
cloud is an isotropic Gaussian (the ``sigreg_floor`` rule, judged beyond noise); the settling
precondition reads ``drift``, the absolute last-quarter change, per seed.

Re-registered for the chapter's fair-test issue (issue 31), committed before the runs that judge them:

- **Settled** now means a convergence test, not a flat tail under an annealed rate: every run a claim
  reads goes on for a quarter of its steps at the constant peak rate after training, and has settled
  when its R² moved by less than :data:`SETTLED` there (``drift``; T2 on the fixed grid,
  ``griddrift``). Every T1 claim, both T2 claims, the good and fragile bands and the moment claim take
  "every run it reads settled" as a precondition (judged beyond noise, as every precondition).
- **T2 on the paper's metric**: R²(h → z) on the official code's fixed uniform grid of 100 × 100
  latents over [−3, 3]² (``r2grid``; the official figure plots ``r2_hz_grid``), the same points for
  every α, so the sweep compares laws on equal footing; the per-α reading on each law's own samples is
  kept beside it. Thresholds unchanged (0.95, peak at α = 2).
- **T1 on the coupling flow** follows the official scaling protocol: 3 restarts per seed, the one of
  lowest final training loss kept (mean over the last quarter's logged steps, where the code reads one
  batch).
- **The good band**, like the fragile one, needs its cells out of the identity trap (R² above the raw
  observations' by 0.1): a cell still in the trap is not testable here, with the trap measured.
- **The moment term across λ**: over the sweep λ ∈ ``moment_lams`` (1e-4, 3e-5, 1e-5), R² with the term
  averaged over λ beats R² without it averaged over λ, paired by seed; the precondition is that the
  sweep reaches the stall (pure SIGReg collapses at its smallest λ) and that both arms settled (each
  arm's R² averaged over λ moved by less than :data:`SETTLED` over the continuations). A run whose cloud
  stays collapsed (tr Cov < 0.02 before and after) counts as settled: its R² reads float32 rounding
  (a pilot on seed 1000 saw such R² jump by 0.026 on a cloud of tr Cov 2e-8).
"""

from __future__ import annotations


from scipy.optimize import minimize_scalar

from jepabook.blocks.sigreg import expected_sigreg
from jepabook.lejepa import names
from jepabook.core.claims import Check, Claim, MissingMetric, shown_values
from jepabook.core.rules import Above, AllOf, Below, BoundEveryRun, Greater, PeakAt, Within

__all__ = ["QUADRATURE_FLOOR", "SETTLED", "T3_SLACK", "analytic_shrinkage", "claims_for", "measured_for",
           "raw_r2", "settled"]

# every claims module exposes the same two functions: claims_for(config) and measured_for(item, result)

QUADRATURE_FLOOR = 1.052  # E[SIGReg] on exact N(0, I) data with the [0, 3] × 17 quadrature (papers.md)
FRAGILE_LAM = 0.1
GOOD_LAMS = (1e-3, 1e-2)
#: T3: a run obeys the bound when its error is at most bound + this. The evaluation set is whitened, so the
#: error at collapse reads n exactly; what is left is the finite sample's cross-terms (ε and δ from 10 k
#: points) and float32 encoder outputs, a few thousandths at most.
T3_SLACK = 0.005
#: a run has settled when its R² moved by less than this over its continuation at the constant peak rate
SETTLED = 0.02


def analytic_shrinkage(lam: float, rho: float, n: int) -> float:
    """The scale s minimising (1 − λ)·s²(1 − ρ)/2 + λ·E[SIGReg](s, n) over clouds s·Qz, z ~ N(0, I).

    ``s²(1 − ρ)/2`` is our alignment term for h = sQz (the code's quarter scale); E[SIGReg] of n points
    of N(0, s²I) is :func:`jepabook.blocks.sigreg.expected_sigreg`. At λ = 1e-3, ρ = 0.95, n = 512 it is
    about 0.913. The n points are taken as independent; the loss's 2B points are B pairs correlated at
    ρ, which adds e^{−(1−ρ)s²t²} − e^{−s²t²} to each knot's variance term and moves s by about −0.001
    (a reviewer's estimate, well inside the claim's 0.02)."""
    if not (0.0 < lam < 1.0 and 0.0 < rho < 1.0):
        raise ValueError(f"lam and rho must lie strictly between 0 and 1; got {lam!r}, {rho!r}")
    f = lambda s: (1.0 - lam) * s * s * (1.0 - rho) / 2.0 + lam * expected_sigreg(s, n)  # noqa: E731
    return float(minimize_scalar(f, bounds=(0.0, 2.0), method="bounded", options={"xatol": 1e-8}).x)


def raw_r2(config, rho: float | None = None) -> float:
    """R²(x → z) of the raw observations of the map's world on its evaluation points: what an encoder
    that learned nothing about the mixing (the identity) would score."""
    from jepabook.lejepa.experiment import eval_world
    from jepabook.lejepa.identifiability import r2_linear
    from jepabook.lejepa.learner import TrainSpec
    from jepabook.lejepa.worlds import mixing

    c = config
    z, _ = eval_world(c, TrainSpec(c.grid_mixing, 2.0, rho if rho is not None else c.grid_rhos[0], c.lam, 0.0, 1))
    return r2_linear(mixing(c.grid_mixing)(z), z)


def settled(drifts: tuple[str, ...]) -> dict:
    """The convergence precondition on the runs whose continuation changes are ``drifts``: each moved by
    less than :data:`SETTLED` (as ``precondition`` and ``precondition_text`` keywords of a claim)."""
    return {"precondition": AllOf(tuple(Below(a, SETTLED) for a in drifts)),
            "precondition_text": f"settled: R² moved < {SETTLED:g} over a continuation of a quarter of the run's "
            "steps at the constant peak rate"}


def claims_for(config) -> list[Claim]:
    """The claims for one configuration (the grid claims read the λ and ρ values it ran)."""
    c = config
    mk = lambda id_, **kw: Claim(id=f"lejepa.{id_}", chapter="lejepa", **kw)  # noqa: E731
    out = []
    laptop_t1 = {"parabolic": "0.998 ± 0.000", "sinusoidal": "0.998 ± 0.000", "coupling": "0.990 ± 0.010"}
    for m in (x for x in c.mixings if x != "spiral"):
        enc = " (the official code's matched encoder)" if m == "coupling" and c.coupling_encoder == "matched" else ""
        r2 = names.t1_metric(m)
        restarts = (f"; best of {c.coupling_restarts} restarts by final loss"
                    if m == "coupling" and c.coupling_restarts > 1 else "")
        out.append(mk(f"t1_{m}", statement=f"T1: LeJEPA recovers the latents behind the {m} mixing up to rotation{enc}.",
                      paper="recovered up to rotation", laptop=laptop_t1.get(m, "—"),
                      metric=f"R²(h → z) of the affine least-squares map, 10 k evaluation points{restarts}",
                      rule=Above(r2, 0.95), shown=(r2, names.t1_metric(m, "drift")), digits=3,
                      **settled((names.t1_metric(m, "drift"),)),
                      label=f"T1 recovers the {m} latents", rule_text="R²(h → z) > 0.95"))
    if "spiral" in c.mixings:
        spiral, parabolic = names.t1_metric("spiral"), names.t1_metric("parabolic")
        both = "parabolic" in c.mixings
        rule = AllOf((Above(spiral, 0.8), Greater(parabolic, spiral))) if both else Above(spiral, 0.8)
        drifts = tuple(names.t1_metric(x, "drift") for x in (("spiral", "parabolic") if both else ("spiral",)))
        out.append(mk("t1_spiral", statement="T1: the measure-preserving spiral is recovered too, and is the hardest.",
                      paper="recovered up to rotation", laptop="0.849 ± 0.039", metric="R²(h → z)", rule=rule,
                      shown=((spiral, parabolic) if both else (spiral,)) + drifts, digits=3, **settled(drifts),
                      label="T1 recovers the spiral, the hardest",
                      rule_text="R²(h → z) > 0.8, and below the parabolic shear's (paired)" if both
                      else "R²(h → z) > 0.8"))
    arms = tuple(names.t2_metric(a, "r2grid") for a in c.alphas)
    t2_settled = settled(tuple(names.t2_metric(a, "griddrift") for a in c.alphas))
    grid_text = (f"R²(h → z) on the official code's fixed grid ({c.grid_points}² latents over "
                 f"[−{c.grid_extent:g}, {c.grid_extent:g}]²)")
    out.append(mk("t2_peak", statement="T2: recovery peaks at the Gaussian, α = 2.",
                  paper="sharp peak at α = 2 (figure)",
                  laptop="0.5: 0.964, 1: 0.989, 1.5: 0.997, 2: 0.998, 3: 0.991, 5: 0.978",
                  metric=f"{grid_text}, additive-noise world (the official code's) on the {c.alpha_mixing} mixing",
                  rule=PeakAt(arms, names.t2_metric(2.0, "r2grid")), shown=arms, digits=3, **t2_settled,
                  label="T2 peaks at the Gaussian",
                  rule_text="fixed-grid R² at α = 2 > at every other α (each paired)"))
    out.append(mk("t2_plateau", statement="T2: with SIGReg the peak is a broad plateau, not a knife edge.",
                  paper="broad plateau for SIGReg", laptop="min 0.964 over α ∈ [0.5, 5]",
                  metric=f"{grid_text} at every α, additive-noise world",
                  rule=AllOf(tuple(Above(a, 0.95) for a in arms)), shown=arms, digits=3, **t2_settled,
                  label="T2 is a broad plateau", rule_text="fixed-grid R² > 0.95 at every α"))
    out.append(mk("t3_bound", statement="T3: the Procrustes error never exceeds D + (ε + D)².",
                  paper="all runs but two near-zero outliers", laptop="30 of 30 runs",
                  metric="per informative run (every α = 2 run of the chapter, all seeds, whose bound is below the "
                  "error of h = 0): error of the centred h on the whitened evaluation set, the bound, and "
                  f"error / bound (how tight); slack {T3_SLACK:g}",
                  rule=BoundEveryRun("t3_error", "t3_bound", min_fraction=0.9, slack=T3_SLACK),
                  shown=("t3_error", "t3_bound", "t3_tightness"), digits=3,
                  label="T3's bound holds where it says something",
                  rule_text=f"error ≤ D + (ε + D)² + {T3_SLACK:g} in every informative run (≥ 90 %: direction only)"))
    out.append(mk("t4_planning", statement="T4: a straight latent plan decodes to a near-straight true path; "
                  "an untrained encoder's does not.", paper="oracle-level for the Gaussian encoder",
                  laptop="trained: R² 0.998, ratio 1.07 ± 0.12; untrained: R² 0.491, ratio 12.0 ± 12.6",
                  metric=f"path-length ratio (ideal 1), {c.plan_pairs} pairs, {c.plan_steps} points, "
                  f"{c.knn}-NN decoder; R²(h → z)",
                  rule=AllOf((Below("plan_ratio", 1.25), Greater("untrained_plan_ratio", "plan_ratio"))),
                  shown=("plan_ratio", "untrained_plan_ratio", "t1_r2", "untrained_r2"), digits=2,
                  label="T4 plans straight paths",
                  rule_text="path-length ratio < 1.25, and below the untrained encoder's (paired)"))
    lo, hi = min(c.grid_lams), max(c.grid_lams)
    rhos = c.grid_rhos
    raw = raw_r2(c)
    world = f"{c.grid_mixing}, {c.grid_steps} steps, {c.grid_seeds} seeds"
    r2_lo = tuple(names.grid_metric(lo, r, "r2") for r in rhos)
    cov_lo = tuple(names.grid_metric(lo, r, "cov") for r in rhos)
    out.append(mk("regime_collapse", statement=f"Too little SIGReg (λ = {lo:g}) collapses: the covariance "
                  "shrinks to zero.", paper="R² ≤ 0.11 for λ ≤ 1e-4 (spiral grid)",
                  laptop="covariance → 0 within a few steps", metric=f"tr Cov(h) per ρ ({world})",
                  rule=AllOf(tuple(Below(a, 0.02) for a in cov_lo)), shown=cov_lo + r2_lo, digits=3,
                  label="too little SIGReg collapses", rule_text=f"tr Cov(h) < 0.02 at every ρ (λ = {lo:g})"))
    good = [lam for lam in GOOD_LAMS if lam in c.grid_lams]
    if good:
        arms_g = tuple(names.grid_metric(lam, r) for lam in good for r in rhos)
        drift_g = tuple(names.grid_metric(lam, r, "drift") for lam in good for r in rhos)
        out.append(mk("regime_good", statement="A band of λ between collapse and over-regularisation recovers the "
                      "latents at every ρ.", paper="R² 0.93–1.00 at λ 1e-3…1e-2, ρ 0.5–0.99",
                      laptop="observed", metric=f"R²(h → z) ({world})",
                      rule=AllOf(tuple(Above(a, 0.9) for a in arms_g)), shown=arms_g, digits=3,
                      precondition=AllOf(tuple(Below(a, SETTLED) for a in drift_g) +
                                         tuple(Above(a, raw + 0.1) for a in arms_g)),
                      precondition_text=f"every cell settled (R² moved < {SETTLED:g} over a continuation of a "
                      f"quarter of its steps at the constant peak rate) and out of the identity trap "
                      f"(R² > raw {raw:.3f} + 0.1)",
                      label="a middle band of λ recovers the latents",
                      rule_text=f"R² > 0.9 at every ρ for λ = {', '.join(f'{x:g}' for x in good)}"))
    if FRAGILE_LAM in c.grid_lams and len(rhos) >= 3:
        arms_f = tuple(names.grid_metric(FRAGILE_LAM, r) for r in rhos)
        drift_f = tuple(names.grid_metric(FRAGILE_LAM, r, "drift") for r in rhos)
        mid = arms_f[len(arms_f) // 2]
        out.append(mk("regime_fragile", statement=f"At λ = {FRAGILE_LAM:g} recovery is fragile: non-monotone in ρ, "
                      "best at a middle ρ.", paper="λ = 0.1: ρ .5 → .34, .9 → .85, .99 → .04", laptop="—",
                      metric=f"R²(h → z) per ρ ({world})", rule=PeakAt(arms_f, mid),
                      shown=arms_f, digits=3,
                      precondition=AllOf(tuple(Below(a, SETTLED) for a in drift_f) + (Above(mid, raw + 0.1),)),
                      precondition_text=f"every cell settled (R² moved < {SETTLED:g} over a continuation of a quarter "
                      f"of its steps at the constant peak rate) and the "
                      f"middle ρ has left the identity trap (R² > raw {raw:.3f} + 0.1)",
                      label=f"λ = {FRAGILE_LAM:g} is fragile in ρ",
                      rule_text="R² at the middle ρ > at the smallest and the largest ρ (each paired)"))
    r2_hi = tuple(names.grid_metric(hi, r, "r2") for r in rhos)
    cov_hi = tuple(names.grid_metric(hi, r, "cov") for r in rhos)
    out.append(mk("regime_too_strong", statement=f"Too much SIGReg (λ = {hi:g}) drowns alignment: a Gaussian "
                  "that carries no more of the latent than the raw observations.", paper="R² ≤ 0.01 at λ = 0.5",
                  laptop="observed",
                  metric=f"R²(h → z) per ρ against the raw observations' R²(x → z) = {raw:.3f}; tr Cov(h) ({world})",
                  rule=AllOf(tuple(Below(a, raw + 0.1) for a in r2_hi) + tuple(Above(a, 1.0) for a in cov_hi)),
                  shown=r2_hi + cov_hi, digits=3,
                  label="too much SIGReg drowns alignment",
                  rule_text=f"R² < the raw observations' + 0.1 and tr Cov(h) > 1, at every ρ (λ = {hi:g})"))
    floor_rule = Within("sigreg_zscored", QUADRATURE_FLOOR, 0.2)
    out.append(mk("sigreg_floor", statement="At the optimum SIGReg sits at its floor ≈ 1.05, never 0, once "
                  "the cloud's scale is taken out.",
                  paper="E[EP] = √(2π) − √(2π/3) ≈ 1.059 (≈ 1.052 with the quadrature); ≈ 1.2 read on trained "
                  "embeddings", laptop="—",
                  metric=f"SIGReg at the training size ({2 * c.learner.batch} points, {c.floor_slices} slices) of the "
                  "trained shear encoders' embeddings, z-scored",
                  rule=floor_rule, shown=("sigreg_zscored", "sigreg_trained"), digits=3,
                  label="SIGReg sits at its floor", rule_text=f"z-scored SIGReg within 0.2 of {QUADRATURE_FLOOR}"))
    s_star = analytic_shrinkage(c.lam, c.rho, 2 * c.learner.batch)
    out.append(mk("sigreg_shrinkage", statement=f"At λ = {c.lam:g} the trained cloud sits at the combined loss's "
                  f"optimum: an isotropic Gaussian shrunk to s = {s_star:.3f}.",
                  paper="— (derived here from the paper's loss)", laptop="—",
                  metric="per-coordinate scale √(tr Cov(h)/2) of the trained shear encoders",
                  rule=Within("shrinkage", s_star, 0.02), shown=("shrinkage",), digits=3,
                  precondition=floor_rule,
                  precondition_text=f"the trained cloud is an isotropic Gaussian: z-scored SIGReg within 0.2 of "
                  f"{QUADRATURE_FLOOR} (the floor claim's rule), which the optimum s(λ) assumes",
                  label="the cloud shrinks to the loss's optimum", rule_text=f"scale within 0.02 of s(λ) = {s_star:.3f}"))
    lam_m = min(c.moment_lams)
    cov_p = names.moment_metric("pure", lam_m, "cov")
    per_lam = tuple(names.moment_metric(arm, lam) for lam in c.moment_lams for arm in ("pure", "moments"))
    lams_text = ", ".join(f"{lam:g}" for lam in c.moment_lams)
    out.append(mk("moments_needed", statement=f"Where pure SIGReg stalls (λ swept down to collapse, ρ = "
                  f"{c.moment_rho:g}), a moment-matching term of the same weight on SIGReg's scale recovers more "
                  "of the latents.",
                  paper="— (the paper uses pure SIGReg)",
                  laptop="moment term added because the pure loss stalled at collapse",
                  metric=f"R²(h → z) with and without the term, averaged over λ ∈ {{{lams_text}}} per seed "
                  f"({c.moment_mixing}, {c.steps} steps); per λ shown",
                  rule=Greater("moments_sweep_r2", "pure_sweep_r2"),
                  shown=("moments_sweep_r2", "pure_sweep_r2") + per_lam + (cov_p,), digits=3,
                  precondition=AllOf((Below(cov_p, 0.02), Below("moments_sweep_drift", SETTLED),
                                      Below("pure_sweep_drift", SETTLED))),
                  precondition_text=f"the sweep reaches the stall (pure SIGReg collapses at λ = {lam_m:g}: tr Cov "
                  f"< 0.02) and both arms settled: each arm's R² averaged over λ moved < {SETTLED:g} over the "
                  "runs' continuations (a run that stays collapsed counts as settled: its R² reads rounding)",
                  label="a moment term rescues stalled runs",
                  rule_text=f"mean R² over λ ∈ {{{lams_text}}} with the term > without (paired by seed)"))
    # a check of the estimator, not a reproduction: exact Gaussian samples read the same way
    out.append(Check(id="lejepa.sigreg_floor_gaussian", chapter="lejepa",
                     statement="SIGReg read on exact N(0, I) samples sits at the quadrature's floor.",
                     reference=f"E[SIGReg] = {QUADRATURE_FLOOR} with the [0, 3] × 17 quadrature (papers.md)",
                     metric=f"SIGReg at the training size ({2 * c.learner.batch} points, {c.floor_slices} slices)",
                     rule=Within("sigreg_gaussian", QUADRATURE_FLOOR, 0.1), shown=("sigreg_gaussian",), digits=3,
                     label="SIGReg's floor on exact Gaussians", rule_text=f"within 0.1 of {QUADRATURE_FLOOR}"))
    return out


def t3_runs(run) -> dict[str, list[float]]:
    """Theorem 3 per informative run: every α = 2 run of the chapter (all seeds) whose bound is below the
    error of h = 0 (``trivial_error``, which any encoder meets), as ``t3_error`` (the centred h's
    Procrustes error), ``t3_bound`` and ``t3_tightness`` (error / bound: 1 is a tight bound); also
    ``t3_runs`` and ``t3_informative`` (counts), for the prose."""
    gauss = [r for _, r in run.all_runs() if r.tag_spec.alpha == 2.0]
    if any("trivial_error" not in r.metrics for r in gauss):
        raise MissingMetric(["trivial_error"], list(gauss[0].metrics) if gauss else [])
    informative = [r for r in gauss if r.metrics["bound"] < r.metrics["trivial_error"]]
    if not informative:
        raise MissingMetric(["t3_error (no informative run: every bound is at or above the error of h = 0)"])
    error = [r.metrics["procrustes_centred"] for r in informative]
    bound = [r.metrics["bound"] for r in informative]
    return {"t3_error": error, "t3_bound": bound, "t3_tightness": [e / b if b > 0 else float("nan") for e, b in
                                                                  zip(error, bound)],
            "t3_runs": len(gauss), "t3_informative": len(informative)}


def measured_for(claim: Claim | Check, run) -> dict[str, list[float]]:
    """The per-seed values of the metrics ``claim`` reads, from a ``LeJEPARun`` (:class:`MissingMetric`
    names what was not measured); for T3 the per-informative-run values of :func:`t3_runs`."""
    if claim.id == "lejepa.t3_bound":
        t3 = t3_runs(run)
        return {k: t3[k] for k in claim.reads()}
    return shown_values(claim, run)
