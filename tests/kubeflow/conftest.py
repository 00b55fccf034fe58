"""Shared by the Kubeflow tests: the compile and run-local commands, and one compiled spec."""

import json

import pytest

from robustfx.cli import main as cli


def _compile(data_dir, output, *flags):
    return cli.main(["kfp", "compile", "--data-dir", data_dir, "--output", str(output), *flags])


@pytest.fixture(scope="session")
def kfp_compile():
    """``kfp_compile(data_dir, output, *flags)``: runs ``robustfx kfp compile``."""
    return _compile


def _run_local(spec, *flags):
    return cli.main(["kfp", "run-local", "--spec", str(spec), *flags])


@pytest.fixture(scope="session")
def kfp_run_local():
    """``kfp_run_local(spec, *flags)``: runs ``robustfx kfp run-local``."""
    return _run_local


def _write_spec(path, job):
    path.write_text(json.dumps(job))
    return path


@pytest.fixture(scope="session")
def write_spec():
    """``write_spec(path, job)``: writes a (possibly edited) spec as JSON; returns the path."""
    return _write_spec


@pytest.fixture(scope="session")
def spec(small_mnist, tmp_path_factory):
    data_dir, _ = small_mnist
    output = tmp_path_factory.mktemp("kfp") / "pipeline.json"
    code = _compile(
        data_dir,
        output,
        *[
            "--image",
            "europe-docker.pkg.dev/proj/robustfx/robustfx:1.2.3",
            "--kfp-pipeline-root",
            "gs://bucket/root",
            "--kfp-serving-dir",
            "gs://bucket/serving",
            "--kfp-data-dir",
            "gs://bucket/tfds",
            "--beam-runner",
            "dataflow",
            "--beam-option",
            "project=proj",
            "--beam-option",
            "region=europe-west4",
            "--beam-option",
            "temp_location=gs://bucket/tmp",
            "--accelerator-kind",
            "gpu",
            "--accelerator-type",
            "NVIDIA_TESLA_T4",
            "--accelerator-count",
            "2",
            "--memory-limit",
            "16",
            "--suite",
            "standard",
        ],
    )
    assert code == 0
    return output, json.loads(output.read_text())
