"""jepabook: the package behind the executable JEPA book.

Every model, loss, sampler, data generator, probe and experiment the chapters run lives here; the
chapters (``book/NN_name.md``) hold prose, parameters, calls into this package, tables and figures.

Importing the package pins the BLAS environment and, on Linux, routes MLX's matmuls to OpenBLAS
(see :mod:`jepabook.blas`); an environment set up by ``make venv`` has done so at start-up already.
"""

from . import blas as _blas

_blas.activate(warn=False)  # a chapter run warns if the reference BLAS is in use

__version__ = "0.1.0"
