"""The remote package's public surface."""

from __future__ import annotations

import flyte_nb
import flyte_nb.remote


def test_remote_all_is_sorted_resolvable_and_matches_the_top_level_names() -> None:
    assert flyte_nb.remote.__all__ == sorted(flyte_nb.remote.__all__)
    for name in flyte_nb.remote.__all__:
        assert getattr(flyte_nb.remote, name) is not None
    assert flyte_nb.Remote is flyte_nb.remote.Remote
    assert flyte_nb.RemoteExecution is flyte_nb.remote.RemoteExecution
