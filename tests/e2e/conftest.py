"""The e2e suite's shared pipeline run: one real training run that several tests inspect."""

import contextlib
import io
import json
import os
import pathlib
import shutil

import pytest

from robustfx.cli import main as cli

PIPELINE_NAME = "robustfx-e2e"
# The training and gate settings of the shared run; other tests reuse them to compare.
RUN_FLAGS = ["--epochs", "2", "--threshold", "clean=0.5", "--threshold", "worst_case=0.05",
             "--threshold", "corruption_mean=0.1", "--threshold", "corruption_worst=0"]  # fmt: skip


def run_e2e(data_dir, root, serving, summary, *flags, pipeline_name=PIPELINE_NAME):
    """`robustfx run` on ``root/pipeline_root`` with the shared settings (flags override)."""
    return cli.main(
        ["run", "--data-dir", data_dir, "--pipeline-name", pipeline_name,
         "--pipeline-root", str(root / "pipeline_root"), "--serving-dir", str(serving),
         "--summary-json", str(summary), *RUN_FLAGS, *flags]
    )  # fmt: skip


@pytest.fixture(scope="session")
def run_pipeline():
    return run_e2e


@pytest.fixture(scope="session")
def run_flags():
    return list(RUN_FLAGS)


def _artifact_root(tmp_path_factory):
    """Where the run writes. CI sets ROBUSTFX_E2E_ARTIFACTS so that it can gate the model
    this run produced once the suite is done (see .ci/run)."""
    keep = os.environ.get("ROBUSTFX_E2E_ARTIFACTS")
    if not keep:
        return tmp_path_factory.mktemp("e2e")
    shutil.rmtree(keep, ignore_errors=True)
    os.makedirs(keep)
    return pathlib.Path(keep)


@pytest.fixture(scope="session")
def first_run(small_mnist, tmp_path_factory):
    data_dir, info = small_mnist
    root = _artifact_root(tmp_path_factory)
    summary = root / "summary.json"
    console = io.StringIO()
    with contextlib.redirect_stdout(console):
        assert run_e2e(data_dir, root, root / "serving", summary) == 0
    (root / "console.txt").write_text(console.getvalue())
    return root, info, json.loads(summary.read_text())
