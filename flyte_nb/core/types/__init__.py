"""The type engine: Python types ⇄ Flyte literal types and literals, byte-identical to flytekit 1.16.

One transformer family per module; :class:`TypeEngine` dispatches to them.
"""

from __future__ import annotations

from flyte_nb.core.types.annotations import FlyteAnnotation, kwtypes
from flyte_nb.core.types.base import TypeTransformer
from flyte_nb.core.types.engine import TypeEngine

__all__ = ["FlyteAnnotation", "TypeEngine", "TypeTransformer", "kwtypes"]
