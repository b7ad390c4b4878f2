"""Propeller's template substitution for container ``command`` / ``args``, for the process sandbox.

Flyte's propeller renders every element of a task's ``command`` and ``args`` separately before it starts
the container (PROTOCOL §1.2, ``flyteplugins/.../core/template/template.go``): placeholders are matched
case-insensitively, with whitespace allowed inside the braces and ``.`` or ``$`` as the sigil;
unknown placeholders are left alone; a missing previous checkpoint becomes the two characters ``""``;
``{{.Inputs.x}}`` becomes the value of input ``x`` as text. The process sandbox renders with these rules
so that a command that would not render on a cluster does not run locally either.
"""

from __future__ import annotations

import datetime
import decimal
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flyteidl.core import literals_pb2

from flyte_nb.errors import FlyteTypeError, TaskInputError

__all__ = ["RenderParams", "per_retry_unique_key", "render", "render_all"]


def _placeholder(name: str) -> re.Pattern[str]:
    return re.compile(r"\{\{\s*[.$]" + name + r"\s*\}\}", re.IGNORECASE)


_INPUT = _placeholder("Input")
_INPUT_PREFIX = _placeholder("InputPrefix")
_OUTPUT_PREFIX = _placeholder("OutputPrefix")
_RAW_OUTPUT = _placeholder("RawOutputDataPrefix")
_PER_RETRY_KEY = _placeholder("PerRetryUniqueKey")
_TASK_TEMPLATE = _placeholder("TaskTemplatePath")
_PREV_CHECKPOINT = _placeholder("PrevCheckpointPrefix")
_CHECKPOINT = _placeholder("CheckpointOutputPrefix")
_NAMESPACE = _placeholder("Namespace")
_INPUT_VAR = re.compile(r"\{\{\s*[.$]Inputs\.([^}\s]+)\s*\}\}", re.IGNORECASE)

_NOT_ALNUM = re.compile(r"[^a-zA-Z0-9_]+")
_NOT_ALPHA_START = re.compile(r"^[^a-zA-Z_]+")


@dataclass(frozen=True)
class RenderParams:
    """The values propeller substitutes for one attempt of one task execution.

    ``prev_checkpoint_prefix`` is ``""`` on a first attempt; :func:`render` then writes the two
    characters ``""`` as propeller does. ``generated_name`` is the task execution's generated name,
    from which ``{{.PerRetryUniqueKey}}`` is derived.
    """

    input_path: str
    input_prefix: str
    output_prefix: str
    raw_output_prefix: str
    checkpoint_prefix: str
    prev_checkpoint_prefix: str = ""
    generated_name: str = ""
    task_template_path: str = ""
    namespace: str = ""


def per_retry_unique_key(generated_name: str) -> str:
    """Propeller's sanitised ``{{.PerRetryUniqueKey}}`` for a task execution's generated name."""
    return _NOT_ALNUM.sub("_", _NOT_ALPHA_START.sub("a", generated_name))


def _sub(pattern: re.Pattern[str], value: str, text: str) -> str:
    # A function replacement keeps backslashes in paths literal.
    return pattern.sub(lambda _m: value, text)


def render(template: str, params: RenderParams, inputs: literals_pb2.LiteralMap | None) -> str:
    """Render one element of ``command``/``args`` exactly as propeller does.

    Raises
    ------
    TaskInputError
        When ``{{.Inputs.x}}`` names a missing input or one whose literal propeller cannot print.
    """
    val = _sub(_INPUT, params.input_path, template)
    val = _sub(_OUTPUT_PREFIX, params.output_prefix, val)
    val = _sub(_INPUT_PREFIX, params.input_prefix, val)
    val = _sub(_RAW_OUTPUT, params.raw_output_prefix, val)
    val = _sub(_PREV_CHECKPOINT, params.prev_checkpoint_prefix or '""', val)
    val = _sub(_CHECKPOINT, params.checkpoint_prefix, val)
    val = _sub(_PER_RETRY_KEY, per_retry_unique_key(params.generated_name), val)
    if _TASK_TEMPLATE.search(val):
        val = _sub(_TASK_TEMPLATE, params.task_template_path, val)
    val = _sub(_NAMESPACE, params.namespace, val)
    if inputs is None:
        return val

    def input_value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in inputs.literals:
            raise TaskInputError(
                f"Cannot render {match.group(0)!r}: the task has no input {name!r} "
                f"(inputs: {sorted(inputs.literals) or 'none'}). Fix the placeholder in the task's command."
            )
        try:
            return serialize_literal(inputs.literals[name])
        except FlyteTypeError as exc:
            raise TaskInputError(
                f"Cannot render {match.group(0)!r}: {exc}. Propeller can only insert primitives, blobs, "
                "msgpack values and lists of those into a command; pass this input another way."
            ) from exc

    return _INPUT_VAR.sub(input_value, val)


def render_all(
    templates: Sequence[str], params: RenderParams, inputs: literals_pb2.LiteralMap | None
) -> list[str]:
    """Render each element of ``templates`` (see :func:`render`)."""
    return [render(t, params, inputs) for t in templates]


# ---- {{.Inputs.x}}: Go's %v formatting of literal values -------------------------------------------


def go_float(value: float) -> str:
    """Go's ``%v`` for a float64: shortest digits, exponent form below 1e-4 and from 1e6 (``1e+06``)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    dec = decimal.Decimal(repr(value))
    sign, digits, exp = dec.as_tuple()
    assert isinstance(exp, int)
    text = "".join(map(str, digits)).rstrip("0") or "0"
    sci = len(digits) + exp - 1
    prefix = "-" if sign else ""
    if sci < -4 or sci >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if sci < 0 else '+'}{abs(sci):02d}"
    return prefix + format(abs(dec).normalize(), "f")


def _timestamp(ts: Any) -> str:
    dt = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(seconds=ts.seconds)
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    frac = f".{ts.nanos:09d}".rstrip("0") if ts.nanos else ""
    return f"{base}{frac}Z"


def _duration(d: Any) -> str:
    parts = [f"seconds:{d.seconds}"] if d.seconds else []
    if d.nanos:
        parts.append(f"nanos:{d.nanos}")
    return " ".join(parts)


def _go_value(value: Any) -> str:
    """Go's ``%v`` of a value decoded from msgpack into ``any``."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, (bytes, bytearray)):
        return "[" + " ".join(str(b) for b in value) + "]"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(_go_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = sorted(((_go_value(k), _go_value(v)) for k, v in value.items()), key=lambda kv: kv[0])
        return "map[" + " ".join(f"{k}:{v}" for k, v in items) + "]"
    return str(value)


def _primitive(p: literals_pb2.Primitive) -> str:
    which = p.WhichOneof("value")
    if which == "integer":
        return str(p.integer)
    if which == "boolean":
        return "true" if p.boolean else "false"
    if which == "float_value":
        return go_float(p.float_value)
    if which == "string_value":
        return p.string_value
    if which == "datetime":
        return _timestamp(p.datetime)
    if which == "duration":
        return _duration(p.duration)
    raise FlyteTypeError(f"unexpected primitive type {which!r}")


def _scalar(s: literals_pb2.Scalar) -> str:
    which = s.WhichOneof("value")
    if which == "primitive":
        return _primitive(s.primitive)
    if which == "blob":
        return s.blob.uri
    if which == "schema":
        return s.schema.uri
    if which == "binary":
        if s.binary.tag != "msgpack":
            raise FlyteTypeError(f"unsupported binary tag {s.binary.tag!r}")
        import msgpack

        return _go_value(msgpack.unpackb(s.binary.value, strict_map_key=False))
    raise FlyteTypeError(f"unexpected scalar type {which!r}")


def serialize_literal(lit: literals_pb2.Literal) -> str:
    """The text propeller inserts for ``{{.Inputs.x}}`` (raise ``FlyteTypeError`` where propeller fails)."""
    which = lit.WhichOneof("value")
    if which == "collection":
        return "[" + ",".join(serialize_literal(sub) for sub in lit.collection.literals) + "]"
    if which == "scalar":
        return _scalar(lit.scalar)
    raise FlyteTypeError(f"a {which or 'empty'} literal cannot be printed")
