"""Building cell-body tasks: ``%%flyte_task NAME --inputs a:int b --outputs c d:float``.

The cell body becomes the body of a function ``NAME(a, b)`` that returns ``c, d``, made into a
:class:`~flyte_nb.core.cell_body.CellBodyTask`: calling ``NAME()`` in the notebook reads the missing inputs
from the notebook namespace and assigns the outputs back into it; on a cluster (or in the process sandbox)
it is an ordinary task with inputs ``a, b`` and outputs ``c, d``.
"""

from __future__ import annotations

import ast
import typing
from typing import Any

__all__ = ["assigned_names", "build_function", "infer_type", "output_type"]


def assigned_names(body: list[ast.stmt]) -> set[str]:
    """Names a cell body binds (outside nested functions and classes, which have their own scope)."""
    names: set[str] = set()
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.NamedExpr) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        stack.extend(ast.iter_child_nodes(node))
    return names


def build_function(
    name: str,
    tree: ast.Module,
    inputs: list[str],
    outputs: list[str],
    filename: str,
    namespace: dict[str, Any],
    flags: int = 0,
) -> Any:
    """Compile ``tree`` (a parsed cell body) as ``def name(*inputs): <body>; return outputs``.

    The body keeps the cell's line numbers, so tracebacks point at the cell's own lines. The function's
    globals are the notebook namespace.
    """
    template = ast.parse(f"def {name}({', '.join(inputs)}):\n    pass\n")
    fn_def = template.body[0]
    assert isinstance(fn_def, ast.FunctionDef)
    body: list[ast.stmt] = list(tree.body) or [ast.Pass()]
    last = max((getattr(n, "end_lineno", None) or 1 for n in body), default=1)
    if outputs:
        value = ast.parse(", ".join(outputs), mode="eval").body
        ret = ast.Return(value=value)
        ast.copy_location(ret, body[-1])
        ret.lineno = ret.end_lineno = last
        ast.fix_missing_locations(ret)
        body.append(ret)
    fn_def.body = body
    fn_def.lineno = 1
    ast.fix_missing_locations(template)
    code = compile(template, filename, "exec", flags=flags, dont_inherit=True)
    local: dict[str, Any] = {}
    exec(code, namespace, local)
    return local[name]


def output_type(task_name: str, fields: list[tuple[str, Any]]) -> Any:
    """The return annotation for ``fields``: a ``NamedTuple`` so outputs keep their names."""
    named = typing.NamedTuple(f"{task_name}_outputs", fields)  # type: ignore[misc]
    named.__module__ = "__main__"  # defined by the notebook, so pickled by value with the task
    return named


def infer_type(value: Any) -> Any | None:
    """A Flyte-typable annotation for ``value`` (``list[int]`` for ``[1, 2]``), or ``None`` if unsure."""
    if isinstance(value, list):
        element = _common_type(value)
        return list[element] if element is not None else None  # type: ignore[valid-type]
    if isinstance(value, dict):
        if not value or not all(isinstance(k, str) for k in value):
            return None
        element = _common_type(list(value.values()))
        return dict[str, element] if element is not None else None  # type: ignore[valid-type]
    if isinstance(value, tuple) or value is None:
        return None
    return type(value)


def _common_type(values: list[Any]) -> Any | None:
    if not values:
        return None
    kinds = {infer_type(v) for v in values}
    if len(kinds) == 1:
        return kinds.pop()
    if kinds == {int, float}:
        return float
    return None
