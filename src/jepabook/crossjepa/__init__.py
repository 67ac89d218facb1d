"""Chapter 4 (CrossJEPA): a point-cloud student predicting a frozen image teacher's embeddings.
"""

from jepabook.crossjepa import claims
from jepabook.crossjepa.experiment import *  # noqa: F401,F403  (run, PROFILES, the config and result types)
from jepabook.crossjepa.experiment import __all__ as _experiment_all

__all__ = ["claims", *_experiment_all]
