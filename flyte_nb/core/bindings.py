"""Running a ``DynamicJobSpec`` locally: node order and binding resolution, as propeller does them.

A dynamic task's ``futures.pb`` lists nodes (each a task call), the sub-tasks' templates and the output
bindings. Each node's inputs are ``BindingData``: constants, promises (``node_id`` + output ``var``,
optionally with an attribute path into a list, map or msgpack value), collections and maps of those,
optionally wrapped in a union. This module resolves them into literals and orders the nodes so that
every node runs after the nodes it reads from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flyteidl.core import literals_pb2, types_pb2, workflow_pb2

from flyte_nb.errors import InternalError, TaskExecutionError

__all__ = ["START_NODE", "dependencies", "order_nodes", "resolve_binding"]

START_NODE = "start-node"  # the id propeller gives a workflow's inputs


def _plain_literal(value: object) -> literals_pb2.Literal:
    """A literal for a value found inside a msgpack blob (primitives stay primitives)."""
    prim = literals_pb2.Primitive
    if isinstance(value, bool):
        scalar = literals_pb2.Scalar(primitive=prim(boolean=value))
    elif isinstance(value, int):
        scalar = literals_pb2.Scalar(primitive=prim(integer=value))
    elif isinstance(value, float):
        scalar = literals_pb2.Scalar(primitive=prim(float_value=value))
    elif isinstance(value, str):
        scalar = literals_pb2.Scalar(primitive=prim(string_value=value))
    else:
        import msgpack

        scalar = literals_pb2.Scalar(binary=literals_pb2.Binary(value=msgpack.dumps(value), tag="msgpack"))
    return literals_pb2.Literal(scalar=scalar)


def _key(attr: types_pb2.PromiseAttribute) -> str | int:
    return attr.string_value if attr.WhichOneof("value") == "string_value" else attr.int_value


def _follow(
    lit: literals_pb2.Literal, path: Iterable[types_pb2.PromiseAttribute], where: str
) -> literals_pb2.Literal:
    steps = list(path)
    for i, attr in enumerate(steps):
        key = _key(attr)
        try:
            if lit.HasField("collection"):
                lit = lit.collection.literals[int(key)]
            elif lit.HasField("map"):
                lit = lit.map.literals[str(key)]
            elif lit.HasField("scalar") and lit.scalar.HasField("binary"):
                import msgpack

                value = msgpack.unpackb(lit.scalar.binary.value, strict_map_key=False)
                for rest in steps[i:]:
                    value = value[_key(rest)]
                return _plain_literal(value)
            else:
                raise KeyError(key)
        except (KeyError, IndexError, TypeError) as exc:
            raise TaskExecutionError(
                f"Dynamic workflow: cannot resolve attribute {key!r} of {where} ({type(exc).__name__}). "
                "The attribute does not exist in the value the upstream task returned.",
                code="SYSTEM:BindingError",
                origin="SYSTEM",
            ) from exc
    return lit


def resolve_binding(
    binding: literals_pb2.BindingData, outputs: Mapping[str, literals_pb2.LiteralMap]
) -> literals_pb2.Literal:
    """The literal ``binding`` stands for, given the outputs of the nodes that already ran."""
    kind = binding.WhichOneof("value")
    if kind == "scalar":
        lit = literals_pb2.Literal(scalar=binding.scalar)
    elif kind == "collection":
        items = [resolve_binding(b, outputs) for b in binding.collection.bindings]
        lit = literals_pb2.Literal(collection=literals_pb2.LiteralCollection(literals=items))
    elif kind == "map":
        lit = literals_pb2.Literal(map=literals_pb2.LiteralMap())
        for name, sub in binding.map.bindings.items():
            lit.map.literals[name].CopyFrom(resolve_binding(sub, outputs))
    elif kind == "promise":
        ref = binding.promise
        where = f"output {ref.var!r} of node {ref.node_id!r}"
        try:
            base = outputs[ref.node_id].literals[ref.var]
        except KeyError:
            raise InternalError(f"Dynamic workflow: {where} is not available when a node needs it.") from None
        lit = _follow(base, ref.attr_path, where)
    elif kind == "offloaded_metadata":
        lit = literals_pb2.Literal(offloaded_metadata=binding.offloaded_metadata)
    else:
        raise InternalError(f"Dynamic workflow: a binding has no value ({binding}).")
    if binding.HasField("union"):
        lit = literals_pb2.Literal(
            scalar=literals_pb2.Scalar(union=literals_pb2.Union(value=lit, type=binding.union.targetType))
        )
    return lit


def _references(binding: literals_pb2.BindingData) -> set[str]:
    kind = binding.WhichOneof("value")
    if kind == "promise":
        return {binding.promise.node_id}
    if kind == "collection":
        return {ref for b in binding.collection.bindings for ref in _references(b)}
    if kind == "map":
        return {ref for b in binding.map.bindings.values() for ref in _references(b)}
    return set()


def dependencies(nodes: Iterable[workflow_pb2.Node]) -> dict[str, frozenset[str]]:
    """The ids of the nodes each node waits for: its ``upstream_node_ids`` and the nodes it reads from."""
    listed = list(nodes)
    ids = {n.id for n in listed}
    return {
        n.id: frozenset(
            (set(n.upstream_node_ids) | {r for b in n.inputs for r in _references(b.binding)}) & ids
        )
        for n in listed
    }


def order_nodes(nodes: Iterable[workflow_pb2.Node]) -> list[workflow_pb2.Node]:
    """``nodes`` in an order where each runs after every node it depends on (stable otherwise)."""
    pending = list(nodes)
    deps = dependencies(pending)
    done: list[workflow_pb2.Node] = []
    finished: set[str] = set()
    while pending:
        ready = [n for n in pending if deps[n.id] <= finished]
        if not ready:
            raise InternalError(f"Dynamic workflow: nodes {[n.id for n in pending]} depend on each other.")
        done.extend(ready)
        finished.update(n.id for n in ready)
        pending = [n for n in pending if n.id not in finished]
    return done
