"""Which transformer handles an annotation, and which Python type fits a LiteralType.

The order of the checks is flytekit's: exact simple types, then generic origins (Union, list, dict,
Literal), then class families (Enum before str so ``class E(str, Enum)`` is an enum, dataclasses,
pydantic models, protobuf messages, numpy arrays, pandas DataFrames; flyte_nb's files, directories
and datasets before dataclasses, which they also are), then the MRO for subclasses of the
simple types, and finally the pickle fallback. Optional libraries are detected through ``sys.modules``: a
pandas annotation implies pandas is already imported, so nothing is imported here to find out.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import datetime
import enum
import functools
import os
import sys
import typing
from typing import Any

from flyteidl.core import types_pb2

from flyte_nb.core.types.base import TypeTransformer
from flyte_nb.core.types.engine import is_union
from flyte_nb.errors import UnsupportedTypeError

__all__ = ["find_transformer", "guess_python_type"]


@functools.cache
def _t(name: str) -> TypeTransformer[Any]:
    """The singleton transformer ``name`` (modules are imported on first need)."""
    if name == "list":
        from flyte_nb.core.types.containers import ListTransformer

        return ListTransformer()
    if name == "dict":
        from flyte_nb.core.types.containers import TypedDictTransformer

        return TypedDictTransformer()
    if name == "untyped_dict":
        from flyte_nb.core.types.untyped_dict import UntypedDictTransformer

        return UntypedDictTransformer()
    if name == "union":
        from flyte_nb.core.types.union import UnionTransformer

        return UnionTransformer()
    if name == "enum":
        from flyte_nb.core.types.enums import EnumTransformer

        return EnumTransformer()
    if name == "literal":
        from flyte_nb.core.types.typing_literal import LiteralValuesTransformer

        return LiteralValuesTransformer()
    if name == "iterator":
        from flyte_nb.core.types.iterator import IteratorTransformer

        return IteratorTransformer()
    if name == "pickle":
        from flyte_nb.core.types.pickle import PickleTransformer

        return PickleTransformer()
    if name == "dataclass":
        from flyte_nb.core.types.dataclass import DataclassTransformer

        return DataclassTransformer()
    if name == "pydantic":
        from flyte_nb.core.types.pydantic import PydanticTransformer

        return PydanticTransformer()
    if name == "protobuf":
        from flyte_nb.core.types.protobuf import ProtobufTransformer

        return ProtobufTransformer()
    if name == "numpy":
        from flyte_nb.core.types.numpy import NumpyArrayTransformer

        return NumpyArrayTransformer()
    if name == "dataset":
        from flyte_nb.core.types.structured_dataset import StructuredDatasetTransformer

        return StructuredDatasetTransformer()
    if name == "file":
        from flyte_nb.core.types.file import FlyteFilePathTransformer

        return FlyteFilePathTransformer()
    if name == "directory":
        from flyte_nb.core.types.directory import FlyteDirToMultipartBlobTransformer

        return FlyteDirToMultipartBlobTransformer()
    raise KeyError(name)  # pragma: no cover


def _simple() -> dict[type, TypeTransformer[Any]]:
    from flyte_nb.core.types.simple import SIMPLE_TRANSFORMERS

    return SIMPLE_TRANSFORMERS  # type: ignore[return-value]


_TUPLE_FIX = (
    "Tuples cannot be task inputs or nested values in Flyte: use list[T] for a sequence of one type, or a "
    "dataclass for fixed fields. (A tuple or NamedTuple *return* annotation declares several outputs.)"
)


def _restricted(python_type: Any) -> UnsupportedTypeError:
    return UnsupportedTypeError(f"expected a Flyte-compatible type, got {python_type!r}. {_TUPLE_FIX}")


def find_transformer(python_type: Any) -> TypeTransformer[Any]:
    """The transformer for ``python_type`` (``Annotated`` already stripped, ``None`` → ``NoneType``)."""
    from flyte_nb.core.types.custom import lookup

    custom = lookup(python_type)  # registered custom types first, as flytekit's registry
    if custom is not None:
        return custom
    simple = _simple()
    try:
        found = simple.get(python_type)
    except TypeError:  # unhashable annotation objects
        found = None
    if found is not None:
        return found
    if python_type is typing.Any:
        return _t("pickle")
    origin = typing.get_origin(python_type)
    if origin is not None:
        return _by_origin(python_type, origin)
    if python_type is list or python_type is typing.List:  # noqa: UP006 - we must recognise it
        raise UnsupportedTypeError(
            f"expected a list annotation with its item type, got bare {python_type!r}. "
            "Flyte needs the item type: write list[int], list[str], … (or list[typing.Any] to pickle items)."
        )
    if python_type is dict:
        return _t("untyped_dict")
    if python_type is collections.abc.Iterator:
        raise _bare_iterator(python_type)
    if python_type is tuple or python_type is typing.NamedTuple:
        raise _restricted(python_type)
    if isinstance(python_type, type):
        return _by_class(python_type)
    return _t("pickle")


def _by_origin(python_type: Any, origin: Any) -> TypeTransformer[Any]:
    if is_union(python_type):
        return _t("union")
    if origin is list:
        if not typing.get_args(python_type):
            raise UnsupportedTypeError(
                f"expected a list annotation with its item type, got bare {python_type!r}. "
                "Write list[int], list[str], … (or list[typing.Any] to pickle items)."
            )
        return _t("list")
    if origin is dict:
        args = typing.get_args(python_type)
        return _t("dict") if args and args[0] is str else _t("untyped_dict")
    if origin is tuple:
        raise _restricted(python_type)
    if origin is typing.Literal:
        return _t("literal")
    if origin is collections.abc.Iterator:
        if not typing.get_args(python_type):
            raise _bare_iterator(python_type)
        return _t("iterator")
    return _t("pickle")


def _flyte_data(cls: type) -> TypeTransformer[Any] | None:
    """The transformer of flyte_nb's data classes (files, directories, datasets) — dataclasses too,
    but with their own literals. Their modules are loaded only when such a class exists."""
    if cls is os.PathLike:
        return _t("file")
    files = sys.modules.get("flyte_nb.core.types.file")
    if files is not None and issubclass(cls, files.FlyteFile):
        return _t("file")
    directories = sys.modules.get("flyte_nb.core.types.directory")
    if directories is not None and issubclass(cls, directories.FlyteDirectory):
        return _t("directory")
    datasets = sys.modules.get("flyte_nb.core.types.structured_dataset")
    if datasets is not None and issubclass(cls, datasets.StructuredDataset):
        return _t("dataset")
    return None


def _bare_iterator(python_type: Any) -> UnsupportedTypeError:
    return UnsupportedTypeError(
        f"expected an iterator annotation with its item type, got bare {python_type!r}. Flyte needs the "
        "item type: write Iterator[int], Iterator[str], … (the items travel as a list)."
    )


def _by_class(cls: type) -> TypeTransformer[Any]:
    if issubclass(cls, enum.Enum):
        return _t("enum")
    if issubclass(cls, tuple):  # NamedTuple classes
        raise _restricted(cls)
    data = _flyte_data(cls)
    if data is not None:
        return data
    if dataclasses.is_dataclass(cls):
        return _t("dataclass")
    pydantic = sys.modules.get("pydantic")
    if pydantic is not None and issubclass(cls, pydantic.BaseModel):
        return _t("pydantic")
    from google.protobuf.message import Message

    if issubclass(cls, Message):
        return _t("protobuf")
    np = sys.modules.get("numpy")
    if np is not None and issubclass(cls, np.ndarray):
        return _t("numpy")
    pd = sys.modules.get("pandas")
    if pd is not None and issubclass(cls, pd.DataFrame):
        return _t("dataset")
    simple = _simple()
    for base in cls.__mro__[1:]:
        if base in simple and base is not object:
            return simple[base]
    return _t("pickle")


_SIMPLE_GUESS: dict[int, Any] = {
    types_pb2.INTEGER: int,
    types_pb2.FLOAT: float,
    types_pb2.STRING: str,
    types_pb2.BOOLEAN: bool,
    types_pb2.DATETIME: datetime.datetime,
    types_pb2.DURATION: datetime.timedelta,
    types_pb2.NONE: type(None),
    types_pb2.STRUCT: dict,
}


def guess_python_type(literal_type: types_pb2.LiteralType) -> Any:
    """A Python type able to decode literals of ``literal_type``."""
    kind = literal_type.WhichOneof("type")
    if kind == "simple":
        if literal_type.annotation.annotations.fields.get("literal_values") is not None:
            return _t("literal").guess_python_type(literal_type)
        if literal_type.simple == types_pb2.STRUCT and literal_type.HasField("metadata"):
            return _t("dataclass").guess_python_type(literal_type)  # a generated dataclass, or dict
        if literal_type.simple in _SIMPLE_GUESS:
            return _SIMPLE_GUESS[literal_type.simple]
    elif kind == "collection_type":
        return _t("list").guess_python_type(literal_type)
    elif kind == "map_value_type":
        return _t("dict").guess_python_type(literal_type)
    elif kind == "union_type":
        return _t("union").guess_python_type(literal_type)
    elif kind == "enum_type":
        return _t("enum").guess_python_type(literal_type)
    elif kind == "blob":
        fmt = literal_type.blob.format
        if fmt == "PythonPickle":
            return typing.Any
        if fmt == "NumpyArray":
            return _t("numpy").guess_python_type(literal_type)
        if literal_type.blob.dimensionality == types_pb2.BlobType.SINGLE:
            return _t("file").guess_python_type(literal_type)
        return _t("directory").guess_python_type(literal_type)
    elif kind == "structured_dataset_type":
        return _t("dataset").guess_python_type(literal_type)
    raise UnsupportedTypeError(
        f"expected a literal type flyte_nb can decode, got {kind or 'an empty type'}: {literal_type}. "
        "Declare the Python type explicitly."
    )
