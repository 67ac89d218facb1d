"""Chapter 5 (LeJEPA): the identifiability and world-model theorems on toy worlds.
"""

from jepabook.lejepa import claims
from jepabook.lejepa.experiment import *  # noqa: F401,F403  (run, PROFILES, the config and result types)
from jepabook.lejepa.experiment import __all__ as _experiment_all

__all__ = ["claims", *_experiment_all]
