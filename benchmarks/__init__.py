"""Side-by-side benchmarks of flyte_nb and flytekit 1.16, run on the same machine in the same run.

``python -m benchmarks`` prints a table of medians with the ratio to flytekit and to the physical floor
(where one exists); ``--quick`` runs every measurement once with small data (a smoke run, not a result);
``--write`` also writes ``benchmarks/RESULTS.md``. Results are reported, never asserted.

Every measurement runs in fresh subprocesses, one per library, so neither import pollutes the other
(flytekit replaces signal handlers, loads plugins and keeps global registries).
"""
