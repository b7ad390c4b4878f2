"""nbval runs every notebook here as part of the test suite.

``remote.ipynb`` needs a FlyteAdmin to talk to: ``tests/remote/test_notebook.py`` starts the stand-in,
points the notebook at it through ``FLYTE_*`` variables and runs it with nbval, setting
``FLYTE_NB_RUN_REMOTE_NOTEBOOK=1``. Collected on its own, it would fail for want of a cluster.

The notebooks' kernels inherit this process's environment when nbval starts them, before any fixture
runs: the run ledger and login tokens are pointed at a temporary directory here, so running the
notebooks leaves no ``.flyte_nb_runs.sqlite`` in the checkout and no tokens in the user's config dir.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

collect_ignore = [] if os.environ.get("FLYTE_NB_RUN_REMOTE_NOTEBOOK") == "1" else ["remote.ipynb"]

if "FLYTE_NB_RUN_LEDGER" not in os.environ:
    _state = tempfile.mkdtemp(prefix="flyte-nb-notebooks-")
    atexit.register(shutil.rmtree, _state, ignore_errors=True)
    os.environ["FLYTE_NB_RUN_LEDGER"] = os.path.join(_state, "runs.sqlite")
    os.environ.setdefault("XDG_CONFIG_HOME", os.path.join(_state, "config"))
    os.environ.setdefault("FLYTE_NB_TOKEN_CACHE", "file")
    os.environ.setdefault("FLYTE_NB_LOGIN", "device")
