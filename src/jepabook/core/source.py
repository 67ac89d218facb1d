"""Source code for the page: how a chapter shows its training step exactly as it runs.

Each chapter prints, with :func:`inspect.getsource`, its loss and what feeds it. Where the batch is
built by a function nested inside the training loop (it closes over the loop's data and random
streams), :func:`nested_source` prints that inner function alone, so the page shows the code that
ran rather than a copy of it. Used by Chapters 2 and 4.
"""

from __future__ import annotations

import ast
import inspect
import textwrap

__all__ = ["nested_source"]


def nested_source(fn, name: str) -> str:
    """The source of the function ``name`` defined inside ``fn``, dedented (the first such definition).

    Raises ``LookupError`` when ``fn`` defines no function of that name, so a rename shows up as an
    error rather than as a silently missing listing.
    """
    source = textwrap.dedent(inspect.getsource(fn))
    outer = ast.parse(source).body[0]
    for node in ast.walk(outer):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node is not outer and node.name == name:
            lines = source.splitlines(keepends=True)
            start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
            return textwrap.dedent("".join(lines[start:node.end_lineno]))
    raise LookupError(f"{fn.__qualname__} defines no function {name!r}")
