"""A self-referencing dataclass defined in a notebook cell runs in the kernel and in a fresh process,
where the notebook's names do not exist (its annotations would otherwise fail with a NameError there)."""

from __future__ import annotations

from typing import Any

import flyte_nb as fnb
from tests.notebook.ipshell import cell


def test_a_linked_list_defined_in_a_cell_runs_in_the_kernel_and_in_a_process(ip: Any) -> None:
    cell(
        ip,
        "import dataclasses\nfrom typing import Optional\n\n"
        "@dataclasses.dataclass\nclass Node:\n    value: int\n    child: Optional['Node'] = None\n",
    )
    cell(
        ip,
        "%%flyte_task --no-widget\ndef depth(n: Node) -> int:\n    d = 0\n    while n is not None:\n"
        "        d, n = d + 1, n.child\n    return d\n",
    )
    node = ip.user_ns["Node"]
    depth = ip.user_ns["depth"]
    chain = node(1, node(2, node(3)))
    assert depth(n=chain) == 3
    assert fnb.SandboxExecutor("process").run(depth, n=chain) == 3


def test_postponed_annotations_in_a_cell_resolve_in_the_process(ip: Any) -> None:
    cell(
        ip,
        "%%flyte_task --no-widget\nfrom __future__ import annotations\nimport dataclasses\n"
        "from typing import Optional\n\n"
        "@dataclasses.dataclass\nclass Tree:\n    value: int\n"
        "    kids: list[Optional[Tree]] = dataclasses.field(default_factory=list)\n\n"
        "def total(t: Tree) -> int:\n    return t.value + sum(total.task_function(k) for k in t.kids if k)\n",
    )
    tree_cls, total = ip.user_ns["Tree"], ip.user_ns["total"]
    tree = tree_cls(1, [tree_cls(2), None, tree_cls(3, [tree_cls(4)])])
    assert total(t=tree) == 10
    assert fnb.SandboxExecutor("process").run(total, t=tree) == 10
