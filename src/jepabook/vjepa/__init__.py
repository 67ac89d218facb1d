"""Chapter 3 (V-JEPA): tube masks, feature targets and the attentive probe, on toy videos whose label is motion.
"""

from jepabook.vjepa import claims
from jepabook.vjepa.experiment import *  # noqa: F401,F403  (run, PROFILES, the config and result types)
from jepabook.vjepa.experiment import __all__ as _experiment_all

__all__ = ["claims", *_experiment_all]
