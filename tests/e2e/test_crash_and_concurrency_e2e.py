"""A real run killed with SIGKILL during training, a second run on the same root meanwhile,
and the re-run that must complete from cache with a consistent ML Metadata store."""

import json
import os
import signal
import subprocess
import sys
import time

from ml_metadata.proto import metadata_store_pb2

from robustfx.cli import commands
from robustfx.cli import main as cli
from robustfx.pipeline.mlmd import open_store
from tests.helpers.pipeline_runs import RUN_FLAGS

NAME = "robustfx-crash"


def _flags(data_dir, root):
    """The shared e2e run's settings (tests/helpers/pipeline_runs.py), in a root of its own."""
    return ["run", "--data-dir", data_dir, "--pipeline-name", NAME,
            "--pipeline-root", str(root / "pipeline_root"), "--serving-dir", str(root / "serving"),
            "--summary-json", str(root / "summary.json"), *RUN_FLAGS]  # fmt: skip


def _wait_for(path, process, timeout=300):
    deadline = time.time() + timeout
    while not os.path.exists(path):
        assert process.poll() is None, "the first run ended before training started"
        assert time.time() < deadline, f"{path} did not appear"
        time.sleep(0.5)


def test_sigkill_during_training_then_rerun(small_mnist, tmp_path, capsys, first_run):
    data_dir, _ = small_mnist
    root = tmp_path
    first = subprocess.Popen(
        [sys.executable, "-m", "robustfx.cli.main", *_flags(data_dir, root)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_for(root / "pipeline_root" / "Trainer" / "model_run", first)
        time.sleep(3)  # well inside the fit loop
        # A second run on the same root while the first trains: refused, clearly.
        assert cli.main(_flags(data_dir, root)) == commands.EXIT_USAGE
        assert "is in use by a running pipeline (pid" in capsys.readouterr().err
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
    serving = root / "serving"
    assert not serving.exists() or os.listdir(serving) == []  # nothing half-pushed

    assert cli.main(_flags(data_dir, root)) == 0
    versions = os.listdir(serving)
    assert len(versions) == 1 and versions[0].isdigit()
    assert os.path.isfile(serving / versions[0] / "saved_model.pb")

    store = open_store(str(root / "pipeline_root" / "metadata.sqlite"))

    def states(node):
        context = store.get_context_by_type_and_name("node", f"{NAME}.{node}")
        return sorted(e.last_known_state for e in store.get_executions_by_context(context.id))

    Execution = metadata_store_pb2.Execution
    for node in ("ImportExampleGen", "StatisticsGen", "SchemaGen", "Transform"):
        assert states(node) == [Execution.COMPLETE, Execution.CACHED], node
    trainer = states("Trainer")
    assert trainer.count(Execution.COMPLETE) == 1  # the killed attempt never completed
    assert states("Pusher") == [Execution.COMPLETE]

    # Determinism: the same config and seed as the shared e2e run, trained again from
    # scratch in another root, gives the same metrics. Tolerance: exact (the CPU kernels and
    # the seeded shuffles are deterministic on one machine); across machines expect ~1e-3.
    rerun = json.loads((root / "summary.json").read_text())
    _, _, shared = first_run
    assert rerun["clean_accuracy"] == shared["clean_accuracy"]
    assert rerun["robust_accuracy"] == shared["robust_accuracy"]
