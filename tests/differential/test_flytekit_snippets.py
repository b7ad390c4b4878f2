"""flytekit users' task code runs unchanged: each snippet of :mod:`flytekit_snippets`, run by flytekit and
(with its imports swapped) by flyte_nb, has the same outcome.

A snippet with ``main()`` runs locally (flytekit's local execution; flyte_nb's kernel). A ``container``
snippet's task is compiled by each library and its template run as a cluster runs it, through
``tests/propeller.py`` (``pyflyte-execute`` / ``flyte-nb-execute``, retries, the secrets webhook): the
output literals must be equal bytes, the attempts the same, and the decks the same tabs.

Every secret value is the canary; it must not appear in any output of flyte_nb's runs: returned values,
printed text, error messages, deck pages, or any file a container run leaves behind.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
import sys
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest

import flyte_nb as fnb
from tests import propeller
from tests.differential.flytekit_snippets import CANARY, SNIPPETS, Snippet, for_flyte_nb

pytestmark = pytest.mark.differential

REPO = Path(__file__).resolve().parents[2]
MISSING = {name: [n for n in s.needs if not hasattr(fnb, n)] for name, s in SNIPPETS.items()}


def test_the_table_has_at_least_forty_snippets_flyte_nb_can_run_today() -> None:
    runnable = [name for name in SNIPPETS if not MISSING[name]]
    assert len(runnable) >= 40, runnable
    kinds = {"image", "context", "checkpoint", "secret", "deck", "named", "iterator", "custom", "hash"}
    assert kinds <= {name.split("_")[0] for name in runnable}


@pytest.fixture(scope="module")
def fk() -> Any:
    return pytest.importorskip("flytekit")


@pytest.fixture
def module_dir(tmp_path: Path) -> Any:
    """A directory on ``sys.path`` for the snippet modules (removed from it, and them from sys.modules)."""
    path = tmp_path / "modules"
    path.mkdir()
    sys.path.insert(0, str(path))
    yield path
    sys.path.remove(str(path))
    for name in [m for m in sys.modules if m.startswith(("fk_", "nb_"))]:
        del sys.modules[name]


def _env(snippet: Snippet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("_FSEC_") or name in ("API_TOKEN", "DB_PASSWORD"):
            monkeypatch.delenv(name)
    monkeypatch.delenv("FLYTE_SECRETS_ENV_PREFIX", raising=False)
    secrets_dir = tmp_path / "secrets"
    monkeypatch.setenv("FLYTE_SECRETS_DEFAULT_DIR", str(secrets_dir))
    for ref, content in snippet.secret_files.items():
        (secrets_dir / ref).parent.mkdir(parents=True, exist_ok=True)
        (secrets_dir / ref).write_text(content)
    for key, value in snippet.env.items():
        monkeypatch.setenv(key, value)


def _plain(value: Any) -> Any:
    """JSON-like form of a returned value (tuples become lists), for comparison."""
    return json.loads(json.dumps(value, default=repr))


def _import(module_dir: Path, name: str, source: str) -> Any:
    (module_dir / f"{name}.py").write_text(source)
    importlib.invalidate_caches()
    return importlib.import_module(name)


def _run_local(module_dir: Path, name: str, source: str) -> tuple[str, Any]:
    try:
        module = _import(module_dir, name, source)
        return "ok", _plain(module.main())
    except Exception as exc:  # the outcome under comparison is "it failed", whatever the class
        return "error", exc


def _assert_no_canary(where: str, *texts: str) -> None:
    for text in texts:
        assert CANARY not in text, f"the secret value appears in {where}"


@pytest.mark.parametrize("name", sorted(n for n, s in SNIPPETS.items() if s.container is None))
def test_snippet_runs_the_same_locally(
    fk: Any,
    name: str,
    module_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    snippet = SNIPPETS[name]
    if MISSING[name]:
        pytest.skip(f"needs {', '.join(MISSING[name])} in flyte_nb (file and dataset types)")
    _env(snippet, tmp_path, monkeypatch)
    theirs = _run_local(module_dir, f"fk_{name}", snippet.source)
    capfd.readouterr()
    ours = _run_local(module_dir, f"nb_{name}", for_flyte_nb(snippet.source))
    out, err = capfd.readouterr()
    _assert_no_canary("flyte_nb's printed output", out, err)
    if snippet.raises is not None:
        assert theirs[0] == "error", f"flytekit: expected a failure, got {theirs}"
        assert ours[0] == "error", f"flyte_nb: expected a failure, got {ours}"
        assert isinstance(theirs[1], snippet.raises)
        assert isinstance(ours[1], snippet.raises), repr(ours[1])
        _assert_no_canary("flyte_nb's error", str(ours[1]))
        return
    assert theirs[0] == "ok", f"flytekit failed: {theirs[1]!r}"
    assert ours == theirs
    _assert_no_canary("the returned value", json.dumps(ours[1]))


# ----------------------------------------------------------------------------------------------- containers


def _templates(fk: Any, snippet: Snippet, theirs_mod: Any, ours_mod: Any) -> tuple[Any, Any]:
    from flytekit.configuration import ImageConfig, SerializationSettings
    from flytekit.tools.translator import get_serializable

    assert snippet.container is not None
    settings = SerializationSettings(
        image_config=ImageConfig.auto(img_name="localhost:30000/flytekit:dev"),
        project="flytesnacks",
        domain="development",
        version="v1",
    )
    theirs = get_serializable(OrderedDict(), settings, getattr(theirs_mod, snippet.container)).template
    ours = fnb.serialize_task(getattr(ours_mod, snippet.container), fnb.SerializationSettings(version="v1"))
    return theirs.to_flyte_idl(), ours


def _deck_tabs(result: propeller.PropellerResult) -> list[str]:
    deck = result.paths.output_prefix / "deck.html"
    nav = deck.read_text().split('id="flyte-frame-tabs">', 1)[1].split("</ul>", 1)[0]
    return re.findall(r"<li[^>]*>(.*?)</li>", nav)


@pytest.mark.parametrize("name", sorted(n for n, s in SNIPPETS.items() if s.container is not None))
def test_snippet_runs_the_same_in_a_container(
    fk: Any, name: str, module_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    snippet = SNIPPETS[name]
    _env(snippet, tmp_path, monkeypatch)
    theirs_mod = _import(module_dir, f"fk_{name}", snippet.source)
    ours_mod = _import(module_dir, f"nb_{name}", for_flyte_nb(snippet.source))
    theirs_t, ours_t = _templates(fk, snippet, theirs_mod, ours_mod)
    task = getattr(ours_mod, snippet.container or "")
    inputs = fnb.TypeEngine.to_literal_map(snippet.inputs, task.python_interface.inputs)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLYTE_SECRETS")}
    env["PYTHONPATH"] = os.pathsep.join([str(module_dir), str(REPO), env.get("PYTHONPATH", "")])
    results = {}
    for side, template in (("theirs", theirs_t), ("ours", ours_t)):
        results[side] = propeller.run_task_template(
            template, inputs, tmp_path / side, env=env, secrets=snippet.cluster_secrets
        )
    theirs, ours = results["theirs"], results["ours"]
    assert theirs.phase == "SUCCEEDED", theirs.stderr[-3000:]
    assert ours.phase == ours.phase == "SUCCEEDED", ours.stderr[-3000:]
    assert [a.phase for a in ours.attempts] == [a.phase for a in theirs.attempts]
    assert ours.outputs is not None
    assert theirs.outputs is not None
    assert ours.outputs.SerializeToString(deterministic=True) == theirs.outputs.SerializeToString(
        deterministic=True
    )
    if snippet.compare_deck:
        assert _deck_tabs(ours) == _deck_tabs(theirs)
    for attempt in ours.attempts:
        _assert_no_canary("the task's output", attempt.stdout, attempt.stderr)
    leaked = [
        str(p) for p in (tmp_path / "ours").rglob("*") if p.is_file() and CANARY.encode() in p.read_bytes()
    ]
    assert leaked == []


def test_no_snippet_needs_flytekit_after_the_swap() -> None:
    for name, snippet in SNIPPETS.items():
        swapped = for_flyte_nb(snippet.source)
        assert "flytekit" not in swapped.replace("import flyte_nb as flytekit", "").replace(
            "flytekit.current_context", ""
        ), name
        with contextlib.suppress(SyntaxError):
            compile(swapped, name, "exec")
