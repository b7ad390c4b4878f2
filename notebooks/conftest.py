"""nbval runs every notebook here as part of the test suite.

``remote.ipynb`` needs a FlyteAdmin to talk to: ``tests/remote/test_notebook.py`` starts the stand-in,
points the notebook at it through ``FLYTE_*`` variables and runs it with nbval, setting
``FLYTE_NB_RUN_REMOTE_NOTEBOOK=1``. Collected on its own, it would fail for want of a cluster.
"""

from __future__ import annotations

import os

collect_ignore = [] if os.environ.get("FLYTE_NB_RUN_REMOTE_NOTEBOOK") == "1" else ["remote.ipynb"]
