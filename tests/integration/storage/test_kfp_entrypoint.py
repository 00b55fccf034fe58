"""The container entrypoint on a real S3 API, as a KFP task runs it: a TFX executor (SchemaGen)
reads and writes artifacts under OSS KFP's default root spelling (minio://), the launcher's
URIs come back in the ExecutorOutput, and the process exits with the executor's status.

The three processes run at once (each imports TensorFlow and TFX): the task as compiled; the
same task with the exit handling of ``remote_storage`` switched off, which aborts at exit
with status 134 after its work succeeded; a task whose input is missing, which fails.
"""

import dataclasses
import json
import pathlib
import signal
import subprocess
import sys

import pytest
import tensorflow as tf
from tensorflow_metadata.proto.v0 import statistics_pb2

from robustfx.base import remote_storage
from tests.helpers import s3_server

ENTRYPOINT = [sys.executable, "-m", "robustfx.kubeflow.entrypoint"]
# The same entrypoint with the exit handling switched off, and nothing else changed.
UNHANDLED = [
    sys.executable,
    "-c",
    "import sys; from unittest import mock; from robustfx.kubeflow import entrypoint\n"
    "with mock.patch('robustfx.base.remote_storage._end_before_native_teardown'):\n"
    "    entrypoint.main()",
]
SCHEMA_GEN = "tfx.components.schema_gen.executor.Executor"


def _artifact(uri: str, title: str, **metadata) -> dict:
    kind = {"instanceSchema": f"title: {title}\ntype: object\n"}
    return {"artifacts": [{"uri": uri, "type": kind, "metadata": metadata}]}


def _invocation(statistics: str, schema: str, output_file) -> str:
    return json.dumps(
        {
            "inputs": {
                "artifacts": {
                    "statistics": _artifact(
                        statistics, "tfx.ExampleStatistics", split_names='["train"]'
                    )
                },
                "parameterValues": {"infer_feature_shape": 1, "exclude_splits": "[]"},
            },
            "outputs": {
                "artifacts": {"schema": _artifact(schema, "tfx.Schema")},
                "outputFile": str(output_file),
            },
        }
    )


def _write_statistics(directory: str) -> None:
    statistics = statistics_pb2.DatasetFeatureStatisticsList()
    feature = statistics.datasets.add(num_examples=10).features.add()
    feature.path.step.append("label")
    feature.type = statistics_pb2.FeatureNameStatistics.INT
    feature.num_stats.common_stats.num_non_missing = 10
    feature.num_stats.common_stats.min_num_values = 1
    feature.num_stats.common_stats.max_num_values = 1
    tf.io.gfile.makedirs(f"{directory}/Split-train")
    with tf.io.gfile.GFile(f"{directory}/Split-train/FeatureStats.pb", "wb") as f:
        f.write(statistics.SerializeToString())


@dataclasses.dataclass(frozen=True)
class Task:
    status: int  # negative: the signal that ended it
    log: str
    output_file: pathlib.Path


@pytest.fixture(scope="module")
def tasks(s3, tmp_path_factory):
    """name -> Task, for the three tasks."""
    remote_storage.enable([s3.url()])
    _write_statistics(s3.url("kfp", "statistics"))
    minio = f"minio://{s3.bucket}/kfp"
    plan = {
        "handled": (ENTRYPOINT, f"{minio}/statistics"),
        "unhandled": (UNHANDLED, f"{minio}/statistics"),
        "failing": (ENTRYPOINT, f"{minio}/no-such-statistics"),
    }
    started = {}
    for name, (command, statistics) in plan.items():
        output_file = tmp_path_factory.mktemp(name) / "output_metadata.json"
        args = ["--executor_class_path", SCHEMA_GEN, "--json_serialized_invocation_args"]
        invocation = _invocation(statistics, f"{minio}/schema-{name}", output_file)
        process = subprocess.Popen(
            [*command, *args, invocation, "--runner=DirectRunner"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started[name] = (process, output_file)
    finished = {}
    for name, (process, output_file) in started.items():
        log, _ = process.communicate(timeout=600)
        finished[name] = Task(process.returncode, log, output_file)
    return finished


def test_a_task_on_minio_uris_writes_to_the_bucket_and_exits_0(s3, tasks):
    task = tasks["handled"]
    assert task.status == 0, task.log
    assert s3_server.object_keys(s3, "kfp/schema-handled/") == ["kfp/schema-handled/schema.pbtxt"]
    output = json.loads(task.output_file.read_text())
    (schema,) = output["artifacts"]["schema"]["artifacts"]
    assert schema["uri"] == f"minio://{s3.bucket}/kfp/schema-handled"


def test_without_the_exit_handling_the_same_task_aborts_after_its_work(s3, tasks):
    task = tasks["unhandled"]
    assert task.status == -signal.SIGABRT, task.log
    assert "pure virtual method called" in task.log
    # It did its work: the schema and the ExecutorOutput were written before the abort.
    keys = s3_server.object_keys(s3, "kfp/schema-unhandled/")
    assert keys == ["kfp/schema-unhandled/schema.pbtxt"]
    assert task.output_file.exists()


def test_a_failing_task_exits_1_with_its_traceback(tasks):
    task = tasks["failing"]
    assert task.status == 1, task.log
    assert "Traceback (most recent call last)" in task.log
    assert "pure virtual method called" not in task.log
    assert not task.output_file.exists()
