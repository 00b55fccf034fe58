"""Shared by the Kubeflow tests: the compile command, and one compiled spec."""

import json

import pytest

from robustfx.cli import main as cli


def _compile(data_dir, output, *flags):
    return cli.main(["kfp", "compile", "--data-dir", data_dir, "--output", str(output), *flags])


@pytest.fixture(scope="session")
def kfp_compile():
    """``kfp_compile(data_dir, output, *flags)``: runs ``robustfx kfp compile``."""
    return _compile


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
