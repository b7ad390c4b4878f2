"""A task that returns a matplotlib figure leaves no figure open behind it (it would show again)."""

from __future__ import annotations

import pytest

import flyte_nb as fnb

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")  # no display; the inline backend shows open figures the same way
import matplotlib.figure  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402


@fnb.task
def draw(n: int) -> matplotlib.figure.Figure:
    fig, ax = plt.subplots()
    ax.plot(range(n))
    plt.figure()  # a figure the task opens and does not return stays with the task too
    return fig


@pytest.mark.parametrize(
    "run",
    [lambda: draw(n=3), lambda: fnb.SandboxExecutor(mode="kernel").run(draw, n=3)],
    ids=["call", "sandbox"],
)
def test_the_returned_figure_is_the_only_one_shown(run: object) -> None:
    mine = plt.figure()  # the notebook's own figure is left alone
    before = plt.get_fignums()
    fig = run()  # type: ignore[operator]
    assert isinstance(fig, matplotlib.figure.Figure)
    assert plt.get_fignums() == before  # the inline backend would have shown the body's and the copy
    assert fig.axes[0].lines[0].get_xdata().tolist() == [0, 1, 2]  # the figure itself is whole
    plt.close(mine)
