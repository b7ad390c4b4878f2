"""The README's two commands: the first leaves the "Python 3 (Flyte)" kernel installed and is not silent;
CI runs the test command the README gives."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```sh\n(.*?)```", readme, re.S)
    assert block is not None, "the README starts with its commands"
    return [line for line in block.group(1).splitlines() if line.startswith("python3 -m venv")]


def test_the_first_command_installs_the_flyte_kernel_and_shows_progress(tmp_path: Path) -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    first = _commands()[0]
    steps = [step.strip() for step in first.split("&&")]
    install = next(step for step in steps if "pip install" in step)
    assert " -q" not in install, "pip's progress is what a first-time user sees for minutes"
    kernelspec = next(step for step in steps if "jupyter kernelspec install" in step)
    assert kernelspec.endswith("--sys-prefix"), "into the venv the notebook server runs from"
    assert steps.index(kernelspec) < next(i for i, step in enumerate(steps) if "nbconvert" in step)

    # the same step, into a scratch prefix instead of the venv: the kernel the quickstart offers is found
    args = kernelspec.split()[1:-1]  # "jupyter kernelspec install <dir>", without --sys-prefix
    subprocess.run(
        [sys.executable, "-m", "jupyter", *args, "--prefix", str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    found = KernelSpecManager(kernel_dirs=[str(tmp_path / "share" / "jupyter" / "kernels")])
    spec = found.get_kernel_spec("flyte-python3")
    assert spec.display_name == "Python 3 (Flyte)"
    assert spec.argv[-2:] == ["--ext", "flyte_nb"]
    assert "Python 3 (Flyte)" in (ROOT / "notebooks" / "quickstart.ipynb").read_text()


def test_ci_runs_the_readme_test_command() -> None:
    test_command = _commands()[1].split("&&")[-1].strip()
    assert test_command == ".venv/bin/python -m pytest -n auto"
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci
