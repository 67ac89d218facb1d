"""jepabook: the package behind the executable JEPA book.

Every model, loss, sampler, data generator, probe and experiment the chapters run lives here; the
chapters (``book/NN_name.md``) hold prose, parameters, calls into this package, tables and figures.
"""

__version__ = "0.1.0"
