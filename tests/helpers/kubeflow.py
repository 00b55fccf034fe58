"""The Kubeflow commands as tests call them: compile a spec, run it locally, edit it."""

import json

from robustfx.base.beam_config import DIRECT_RUNNER_ARGS
from robustfx.cli import main as cli

# A spec as a Vertex AI user compiles it: remote storage, Dataflow, GPUs, the standard suite.
VERTEX_FLAGS = (
    "--target", "vertex",
    "--image", "europe-docker.pkg.dev/proj/robustfx/robustfx:1.2.3",
    "--kfp-pipeline-root", "gs://bucket/root",
    "--kfp-serving-dir", "gs://bucket/serving",
    "--kfp-data-dir", "gs://bucket/tfds",
    "--beam-runner", "dataflow",
    "--beam-option", "project=proj",
    "--beam-option", "region=europe-west4",
    "--beam-option", "temp_location=gs://bucket/tmp",
    "--accelerator-kind", "gpu",
    "--accelerator-type", "NVIDIA_TESLA_T4",
    "--accelerator-count", "2",
    "--memory-limit", "16",
    "--suite", "standard",
)  # fmt: skip


# A spec as an open-source KFP user compiles it: MinIO through its S3 API, a GPU by its
# Kubernetes resource name, the object store's keys from a secret.
OSS_FLAGS = (
    "--target", "oss",
    "--image", "registry.example.com/robustfx:1.2.3",
    "--kfp-pipeline-root", "s3://mlpipeline/robustfx/root",
    "--kfp-serving-dir", "s3://mlpipeline/robustfx/serving",
    "--kfp-data-dir", "s3://mlpipeline/tfds",
    "--storage-secret", "robustfx-s3",
    "--storage-endpoint", "http://minio-service.kubeflow:9000",
    "--storage-region", "us-east-1",
    "--accelerator-kind", "gpu",
    "--accelerator-type", "nvidia.com/gpu",
    "--accelerator-count", "1",
)  # fmt: skip


# `robustfx run`'s own Beam settings (DIRECT_RUNNER_ARGS) as options of the compiled direct
# runner (the last of a repeated flag wins): the same Beam execution as `robustfx run`,
# without a worker process, a TFX source package or a Prism download per Beam component. The
# spec's own defaults run in every other respect.
LOCAL_BEAM = tuple(
    part
    for arg in DIRECT_RUNNER_ARGS
    if not arg.startswith("--runner=")
    for part in ("--beam-option", arg[2:])
)


def compile_spec(data_dir, output, *flags) -> int:
    """Runs ``robustfx kfp compile``."""
    return cli.main(["kfp", "compile", "--data-dir", data_dir, "--output", str(output), *flags])


def run_local(spec, *flags) -> int:
    """Runs ``robustfx kfp run-local``."""
    return cli.main(["kfp", "run-local", "--spec", str(spec), *flags])


def write_spec(path, job):
    """Writes a (possibly edited) spec as JSON; returns the path."""
    path.write_text(json.dumps(job))
    return path


def only_tasks(job, names):
    """A copy of the compiled job with only the root DAG's tasks in ``names`` (none of them
    downstream of a task left out): a run of part of the pipeline. Components and executors
    stay."""
    edited = json.loads(json.dumps(job))
    tasks = edited["pipelineSpec"]["root"]["dag"]["tasks"]
    for name in set(tasks) - set(names):
        del tasks[name]
    return edited
