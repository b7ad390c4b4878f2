"""A FlyteAdmin stand-in for tests (gRPC admin + data proxy + auth, signed-URL bucket, propeller)."""

from __future__ import annotations

from tests.standin.server import Faults, StandIn

__all__ = ["Faults", "StandIn"]
