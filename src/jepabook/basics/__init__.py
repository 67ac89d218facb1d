"""Chapter 1 (JEPA basics): neighbour prediction on the Swiss roll, collapse and SIGReg.
"""

from jepabook.basics import claims
from jepabook.basics.experiment import *  # noqa: F401,F403  (run, PROFILES, the config and result types)
from jepabook.basics.experiment import __all__ as _experiment_all

__all__ = ["claims", *_experiment_all]
