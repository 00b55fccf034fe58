"""Every Beam component on Beam's portable runner: the Job API and Fn API that Dataflow,
Flink and Spark share, with Beam's own Python job service and an EXTERNAL pool of SDK
workers, started and stopped here. The workers share nothing with the launcher but the
installed environment: they start without the launcher's variables (no TF_USE_LEGACY_KERAS),
as workers from a stock image or another host would."""

import contextlib
import json
import os
import socket
import subprocess
import sys
import time

import portpicker

from tests.helpers.pipeline_runs import run_e2e

WORKERS = 2


def _wait_for_port(port: int, process: subprocess.Popen, name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"{name} exited with {process.returncode}"
        with contextlib.suppress(OSError), socket.create_connection(("localhost", port), 1):
            return
        time.sleep(0.5)
    raise TimeoutError(f"{name} did not listen on port {port} in {timeout} s")


@contextlib.contextmanager
def portable_services(log_dir):
    """Beam's job service and SDK worker pool, as a cluster would run them."""
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    # The pool starts each worker with the `python` first on PATH: this environment's.
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    job_port, pool_port = portpicker.pick_unused_port(), portpicker.pick_unused_port()
    commands = {
        "job service": [sys.executable, "-m",
                        "apache_beam.runners.portability.local_job_service_main",
                        "--port", str(job_port)],
        "worker pool": [sys.executable, "-m", "apache_beam.runners.worker.worker_pool_main",
                        "--service_port", str(pool_port)],
    }  # fmt: skip
    processes = {}
    try:
        for name, command in commands.items():
            log = open(log_dir / f"{name.replace(' ', '_')}.log", "w")
            processes[name] = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        _wait_for_port(job_port, processes["job service"], "job service")
        _wait_for_port(pool_port, processes["worker pool"], "worker pool")
        yield f"localhost:{job_port}", f"localhost:{pool_port}"
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def test_the_pipeline_on_the_portable_runner_matches_the_direct_runner(
    first_run, small_mnist, tmp_path
):
    _, _, direct = first_run
    data_dir, _ = small_mnist
    summary = tmp_path / "summary.json"
    with portable_services(tmp_path) as (job_endpoint, worker_pool):
        code = run_e2e(
            data_dir, tmp_path, tmp_path / "serving", summary,
            "--beam-runner", "portable", "--job-endpoint", job_endpoint,
            "--worker-pool", worker_pool, f"--beam-arg=--direct_num_workers={WORKERS}",
            pipeline_name="robustfx-portable",
        )  # fmt: skip
    assert code == 0
    portable = json.loads(summary.read_text())
    for key in ("clean_accuracy", "robust_accuracy", "worst_case_robust_accuracy", "blessed"):
        assert portable[key] == direct[key], key
    # Each Beam component was a job of the job service (ImportExampleGen, StatisticsGen,
    # TFMA's Evaluator, the RobustnessEvaluator), run in the pool's workers. Transform runs
    # in place, without Beam: its graph analyzes nothing and is not materialized.
    job_log = (tmp_path / "job_service.log").read_text()
    assert job_log.count("with state DONE") >= 4, job_log[-2000:]
    assert "FAILED" not in job_log
    pool_log = (tmp_path / "worker_pool.log").read_text()
    assert pool_log.count("Starting worker with command") >= WORKERS, pool_log[-2000:]
