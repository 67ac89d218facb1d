"""Chapter 2 (I-JEPA): masked latent prediction on small images and the masking ablations.
"""

from jepabook.ijepa import claims
from jepabook.ijepa.experiment import *  # noqa: F401,F403  (run, PROFILES, the config and result types)
from jepabook.ijepa.experiment import __all__ as _experiment_all

__all__ = ["claims", *_experiment_all]
