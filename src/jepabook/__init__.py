"""jepabook: the package behind the executable JEPA book.

Every model, loss, sampler, data generator, probe and experiment the chapters run lives here; the
chapters (``book/NN_name.md``) hold prose, parameters, calls into this package, tables and figures.

Importing the package keeps MLX's float32 matmuls at full precision (``MLX_ENABLE_TF32=0``, before
any matmul of this process), pins the BLAS environment and, on Linux, routes MLX's matmuls to
OpenBLAS (see :mod:`jepabook.blas`); an environment set up by ``make venv`` has done all of it at
start-up already.
"""

import os as _os

_os.environ.setdefault("MLX_ENABLE_TF32", "0")  # first, so even a failing BLAS check below leaves it set

from . import blas as _blas  # noqa: E402

_blas.activate(warn=False)  # a chapter run warns if the reference BLAS is in use

__version__ = "0.1.0"
