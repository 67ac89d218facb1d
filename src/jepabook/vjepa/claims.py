"""The claims Chapter 3 tests, each with the rule that decides its verdict, and the checks kept apart.

Fixed before any full-profile run, from V-JEPA (Bardes et al. 2024) as ``../shared/spec/claims.md``
records it. Every accuracy is a held-out probe accuracy (%) on the direction of motion (8 classes,
chance 12.5 %), read on the frozen EMA *target* encoder, the one the paper probes; ``attn_<arm>`` is
the attentive probe, ``pool_<arm>`` the average-pool linear probe. Seeds pair the arms: every arm of
a seed sees the same clips, batches and probe split.

Preconditions, so that a failure is a failure of the claim and not of the toy:

- *headroom*: the supervised ceiling (each seed's own, trained from scratch, see the experiment) must
  beat the untrained encoder's attentive probe by ``HEADROOM_MIN`` points, else nothing pre-training
  could add is measurable;
- *pooling headroom*: for the probe comparison, the pre-trained encoder's pooled probe must leave
  ``HEADROOM_MIN`` points below the ceiling;
- *a spike happened*: the spike-count rule compares L1 and L2 runs only if some run of either spiked.

The paper gives no table for L1 against L2 (it says L1 was more stable): those three rows are a new
measurement of ours, and say so.

Re-registered for verdicts version 3 (issue 25), before the runs that judge them: the headroom
precondition became the fair-test gate (:class:`~jepabook.core.gate.Headroom`), judged on the 95 %
lower bound over seeds against the claim's own detectable effect, and it needs a ceiling per seed
(one seed's ceiling copied to every seed fails it, and the row says so); "an attentive probe beats
pooling" holds on the untrained encoder too, so it is a check of the probes, and the claim that can
fail is ``attentive_gain``; the spike row says why it cannot hold at the chapter's learning rate.

Re-registered for issue 28, before the runs that judge them, with the rules unchanged: the ceiling is
now trained from scratch on every seed (the same ViT and an attentive head, ``steps`` steps on the
labelled probe-training clips), not fine-tuned from the untrained encoder on the first seed. Two
pilots (``results/pilots/vjepa-tubelets.md``) found no world and tokeniser at the chapter's budget in
which the untrained probe is near chance *and* a ViT trained from scratch stands 30 points above it,
so the chapter keeps its world and the gate decides, per seed, whether anything is testable.

Re-registered for issue 28's second design, before the runs that judge them, with the rules unchanged:
the chapter's world became the random-dot one (:mod:`jepabook.vjepa.videos`, ``world="dots"``), on
8×8×2 tubelets, because a third pilot (``results/pilots/vjepa-dots.md``, seed 1000) found there what
the first two did not: the untrained attentive probe near chance, a same-size ViT trained from scratch
on the labels far above it within the chapter's budget, a single frame at chance. The texts that name
the grid, the object sizes and the random tube's kept positions are computed from the configuration.
The L2 arm runs at its own best rate from the pilot's sweep (the L1 arms at theirs). The random-tube check
compares with the released arithmetic on our grid, 1 − int(25 · 0.1)/25 = 0.92, where it compared with
0.9: on the 5×5 grid the released arithmetic itself sits 0.02 from 0.9, so the first full run on this
world failed that check by floating-point rounding at its tolerance (the sampler's share was exactly
0.92). The spike row
now reads two extra runs per seed, L1 and L2 at the lowest rate at which a run of that sweep spiked
(``spike_lr``), instead of the chapter's arms, whose rates were chosen for their probes; its rule is
unchanged.
"""

from __future__ import annotations

import math

from jepabook.core.claims import Check, Claim, shown_values
from jepabook.core.gate import Headroom
from jepabook.core.rules import Above, AllOf, Below, Greater, Within

__all__ = ["CHANCE", "EMA_HORIZON", "HEADROOM_MIN", "RATIO_TOL", "chance_bound", "claims_for", "measured_for"]

CHANCE = 12.5
#: points the ceiling must stand above the untrained attentive probe (and the pooled L1 probe)
HEADROOM_MIN = 5.0
#: realised masking ratio: ours within this of the released sampler's, on the same grid
RATIO_TOL = 0.02
#: Σ(1 − τ) over the run, in EMA time constants: the target must integrate over the run, not lag it
EMA_HORIZON = (2.5, 10.0)

_HEADROOM = f"the supervised ceiling beats the untrained attentive probe by ≥ {HEADROOM_MIN:g} points"
_NEW = "not in the paper: it says only that L1 was more stable (no table); a new measurement"


def chance_bound(n_test: int) -> float:
    """Chance plus three binomial standard errors of an accuracy on ``n_test`` clips, in %."""
    p = CHANCE / 100
    return 100 * (p + 3 * math.sqrt(p * (1 - p) / n_test))


def claims_for(config) -> list:
    """Chapter 3's claims and checks (the chance bound depends on the profile's held-out count)."""
    n_test = int(round(config.n_probe * config.test_fraction))
    still = chance_bound(n_test)
    # pre-training can show a gain only if the supervised ceiling (per seed) leaves room above the
    # untrained encoder beyond what the claim's seeds can detect
    headroom = Headroom(floor="attn_untrained", ceiling="supervised")
    grid = "×".join(map(str, config.grid))
    positions = config.grid[1] * config.grid[2]
    kept = int(positions * (1.0 - config.random_ratio))  # as jepabook.vjepa.tubes.random_tubes (and released) computes it
    return [
        Claim(
            id="vjepa.learns",
            chapter="vjepa",
            statement="Pre-training with V-JEPA's recipe (feature targets, multi-block tubes, L1) improves the frozen "
            "encoder: its attentive probe beats the untrained encoder's.",
            paper="ViT-L/16 K400 73.7 (frozen attentive probe)",
            laptop="—",
            metric="attentive-probe accuracy (%), target encoder, L1 + tubes vs untrained",
            rule=Greater("attn_l1", "attn_untrained"),
            shown=("attn_l1", "attn_untrained", "supervised"),
            digits=1,
            gate=headroom,
            label="V-JEPA beats the untrained encoder",
            rule_text="features + tubes (L1) > untrained, attentive probe (paired)",
        ),
        Claim(
            id="vjepa.features",
            chapter="vjepa",
            statement="Predicting features beats predicting pixels: the same encoder, masks and budget, with "
            "EMA-feature targets rather than per-tubelet normalised pixels.",
            paper="K400 73.7 vs 68.6; SSv2 66.2 vs 66.0",
            laptop="—",
            metric="attentive-probe accuracy (%), target encoder, feature vs pixel targets",
            rule=Greater("attn_l1", "attn_pixels"),
            shown=("attn_l1", "attn_pixels"),
            digits=1,
            gate=headroom,
            label="features beat pixels as targets",
            rule_text="feature targets > pixel targets, attentive probe (paired)",
        ),
        Claim(
            id="vjepa.tubes",
            chapter="vjepa",
            statement="Multi-block tube masking beats random tubes at 90 % masking.",
            paper="K400 72.9 vs 51.5; SSv2 67.4 vs 46.4",
            laptop="—",
            metric="attentive-probe accuracy (%), target encoder, multi-block vs random tubes",
            rule=Greater("attn_l1", "attn_random"),
            shown=("attn_l1", "attn_random"),
            digits=1,
            gate=headroom,
            label="multi-block tubes beat random tubes",
            rule_text="multi-block tubes > random tubes, attentive probe (paired)",
        ),
        Claim(
            id="vjepa.attentive_gain",
            chapter="vjepa",
            statement="The attentive probe's gain over pooling is larger after pre-training than on the untrained "
            "encoder (an attentive probe can beat pooling with no pre-training at all).",
            paper="gain 17.0 on K400 (73.7 − 56.7); the untrained control is not reported",
            laptop="—",
            metric="attentive − average-pool accuracy (points), L1 + tubes vs untrained",
            rule=Greater("gain_l1", "gain_untrained"),
            shown=("gain_l1", "gain_untrained"),
            digits=1,
            precondition=Above("pool_headroom", HEADROOM_MIN),
            precondition_text=f"the pooled probe leaves ≥ {HEADROOM_MIN:g} points below the supervised ceiling",
            label="pre-training widens the attentive probe's lead",
            rule_text="attentive − pooled after pre-training > the same on the untrained encoder (paired)",
        ),
        Claim(
            id="vjepa.l1_spikes",
            chapter="vjepa",
            statement="L1 trains more stably than L2: fewer runs with a loss spike (a step above twice the running "
            "median), both at a rate where spikes happen.",
            paper=_NEW,
            laptop="—",
            metric="runs with a loss spike (share of seeds), L2 vs L1, at the spike rate",
            rule=Greater("spike_l2_fast", "spike_l1_fast"),
            shown=("spike_l1_fast", "spike_l2_fast"),
            digits=2,
            precondition=Above("spike_any", 0.0),
            precondition_text=f"some L1 or L2 run at the spike rate ({config.spike_lr:g}, the lowest rate at which a "
            "run of the one-seed sweep spiked) spiked",
            label="L1 spikes less than L2",
            rule_text="share of runs with a loss spike at the spike rate: L2 > L1 (paired)",
        ),
        Claim(
            id="vjepa.l1_rank",
            chapter="vjepa",
            statement="L1 keeps a higher effective rank of the pooled target features than L2.",
            paper=_NEW,
            laptop="—",
            metric="effective rank of the mean-pooled target-encoder features (1 … width), L1 vs L2",
            rule=Greater("rank_l1", "rank_l2"),
            shown=("rank_l1", "rank_l2"),
            digits=1,
            label="L1 keeps a higher feature rank",
            rule_text="effective rank: L1 > L2 (paired)",
        ),
        Claim(
            id="vjepa.l1_accuracy",
            chapter="vjepa",
            statement="L1 gives a better attentive probe than L2.",
            paper=_NEW,
            laptop="—",
            metric="attentive-probe accuracy (%), target encoder, L1 vs L2",
            rule=Greater("attn_l1", "attn_l2"),
            shown=("attn_l1", "attn_l2"),
            digits=1,
            gate=headroom,
            label="L1 probes better than L2",
            rule_text="L1 > L2, attentive probe (paired)",
        ),
        Claim(
            id="vjepa.small_object",
            chapter="vjepa",
            statement="Extension (ours): average pooling loses more to the attentive probe when the moving object is "
            f"small ({100 * config.object_area:.0f} % of the frame) than when it is large "
            f"({100 * config.large_area:.0f} %), on the untrained encoder.",
            paper="—",
            laptop="—",
            metric="attentive − average-pool accuracy (points), untrained encoder, small vs large object",
            rule=Greater("gain_untrained", "gain_large_untrained"),
            shown=("gain_untrained", "gain_large_untrained"),
            digits=1,
            label="pooling loses more on small objects",
            rule_text="attentive − pooled: small object > large object, untrained encoder (paired)",
        ),
        Check(
            id="vjepa.attentive",
            chapter="vjepa",
            statement="An attentive probe beats average pooling on the pre-trained encoder (it does on the untrained "
            "encoder too, so this is a property of the probes; whether pre-training widens the lead is the claim "
            "vjepa.attentive_gain).",
            reference="V-JEPA: K400 73.7 vs 56.7; SSv2 66.2 vs 50.1",
            metric="probe accuracy (%), target encoder after L1 + tubes: attentive vs average-pool",
            rule=Greater("attn_l1", "pool_l1"),
            shown=("attn_l1", "pool_l1", "attn_untrained", "pool_untrained"),
            digits=1,
            label="the attentive probe beats pooling",
            rule_text="attentive > pooled, pre-trained encoder, in every seed",
        ),
        Check(
            id="vjepa.still_frames",
            chapter="vjepa",
            statement="A single frame carries no label: on clips whose frames are all the middle frame, both probes "
            "of the L1-trained encoder stay within three standard errors of chance.",
            reference=f"chance {CHANCE:g} %; bound {still:.1f} % ({n_test} held-out clips)",
            metric="probe accuracy (%) on motionless clips",
            rule=AllOf((Below("still_attn_l1", still), Below("still_pool_l1", still))),
            shown=("still_attn_l1", "still_pool_l1"),
            digits=1,
            label="a single frame carries no label",
            rule_text="both probes on motionless clips < chance + 3 standard errors",
        ),
        Check(
            id="vjepa.ratio_short",
            chapter="vjepa",
            statement="Our short-range generator (8 tubes at spatial scale 0.15) hides the share of the grid the "
            f"released sampler does, on our {grid} grid.",
            reference="released multiblock3d.py, reimplemented in jepabook.blocks.masks",
            metric="share of tokens in the union of blocks: ours − released",
            rule=Within("ratio_gap_short", 0.0, RATIO_TOL),
            shown=("ratio_short", "union_short", "released_short", "trained_short"),
            digits=3,
            label="short-range masks match the released code",
            rule_text="hidden share within 0.02 of the released sampler's",
        ),
        Check(
            id="vjepa.ratio_long",
            chapter="vjepa",
            statement="Our long-range generator (2 tubes at spatial scale 0.7) hides the share of the grid the "
            f"released sampler does, on our {grid} grid.",
            reference="released multiblock3d.py, reimplemented in jepabook.blocks.masks",
            metric="share of tokens in the union of blocks: ours − released",
            rule=Within("ratio_gap_long", 0.0, RATIO_TOL),
            shown=("ratio_long", "union_long", "released_long", "trained_long"),
            digits=3,
            label="long-range masks match the released code",
            rule_text="hidden share within 0.02 of the released sampler's",
        ),
        Check(
            id="vjepa.ratio_random",
            chapter="vjepa",
            statement="The random-tube baseline hides the share of the grid the released arithmetic hides on our "
            f"grid: it keeps int({positions} · 0.1) = {kept} of {positions} positions, "
            f"{100 * (1 - kept / positions):.1f} % hidden (the paper's 90 %, rounded by the grid).",
            reference="released random_tube.py",
            metric="share of tokens hidden",
            rule=Within("random_ratio", 1 - kept / positions, RATIO_TOL),
            shown=("random_ratio",),
            digits=3,
            label="random tubes hide what the released code hides",
            rule_text="hidden share within 0.02 of the released arithmetic's on our grid",
        ),
        Check(
            id="vjepa.ema_horizon",
            chapter="vjepa",
            statement="The EMA target integrates over the run: Σ(1 − τ) spans several time constants.",
            reference=f"{EMA_HORIZON[0]:g} to {EMA_HORIZON[1]:g} time constants (the released ViT-L run: 0.998 → 1.0 "
            "over a 112,500-step schedule of which 90,000 steps run, about 110)",
            metric="Σ over steps of (1 − τ)",
            rule=AllOf((Above("ema_horizon", EMA_HORIZON[0]), Below("ema_horizon", EMA_HORIZON[1]))),
            shown=("ema_horizon",),
            digits=2,
            label="the EMA target spans the run",
            rule_text="Σ(1 − τ) between 2.5 and 10 time constants",
        ),
    ]


# a chapter's metrics are per-seed lists keyed by name, so what a claim reads is read directly
measured_for = shown_values
