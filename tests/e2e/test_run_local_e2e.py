"""Open-source KFP end to end on a real S3 API: `kfp compile --target oss`, then `kfp
run-local` on the compiled spec, with the data, the pipeline root and the serving directory
all on ``s3://`` (moto on 127.0.0.1), every task a fresh process that reaches S3 through the
project's entrypoint.

The first run blesses and pushes the only version, with the numbers of `robustfx run` on the
same data and settings (the shared ``first_run``). A second run of the spec's ProductionModel
task alone, in the same pipeline context, store and S3 root, finds that version as
production. (A second complete run, judged against the first and pushing nothing, is
`test_pipeline_e2e`'s unchanged rerun: the same components, on the local orchestrator. A
failing task that stops a run, its record and its --summary-json, is `test_run_local_toy`'s.)
"""

import contextlib
import io
import json
import os

import pytest
from ml_metadata.proto import metadata_store_pb2 as pb

from robustfx.pipeline.mlmd import open_store
from tests.helpers.kubeflow import LOCAL_BEAM, compile_spec, only_tasks, run_local, write_spec
from tests.helpers.paths import copy_tree
from tests.helpers.pipeline_runs import RUN_FLAGS

PREFIX = "run_local_e2e"  # this module's corner of the session's bucket
CONTAINER_TASKS = {"ImportExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator",
                   "Transform", "Trainer", "ProductionModel", "Evaluator",
                   "RobustnessEvaluator", "Pusher"}  # fmt: skip
LOOKUP = "ProductionModel"  # the one task of the second run


@pytest.fixture(scope="module")
def s3_runs(s3, small_mnist, tmp_path_factory):
    from robustfx.base import remote_storage

    remote_storage.enable(force=True)
    data_dir, _ = small_mnist
    copy_tree(data_dir, s3.url(PREFIX, "tfds"))
    base = tmp_path_factory.mktemp("run_local_s3")
    spec = base / "spec.json"
    root, serving = s3.url(PREFIX, "root"), s3.url(PREFIX, "serving")
    assert compile_spec(
        data_dir, spec, "--target", "oss", "--kfp-data-dir", s3.url(PREFIX, "tfds"),
        "--kfp-pipeline-root", root, "--kfp-serving-dir", serving,
        "--storage-endpoint", s3.endpoint, *LOCAL_BEAM, *RUN_FLAGS,
    ) == 0  # fmt: skip
    lookup = write_spec(base / "lookup.json", only_tasks(json.loads(spec.read_text()), {LOOKUP}))
    codes, summaries, errors = [], [], io.StringIO()
    for index, compiled in enumerate((spec, lookup), start=1):
        summary = base / f"summary{index}.json"
        flags = ["--pipeline-root", root, "--metadata", str(base / "metadata.sqlite"),
                 "--summary-json", str(summary)]  # fmt: skip
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(errors):
            codes.append(run_local(compiled, *flags))
        summaries.append(json.loads(summary.read_text()))
    return {"base": base, "codes": codes, "runs": summaries, "errors": errors.getvalue()}


def _tasks(summary):
    return {task["name"]: task for task in summary["run"]["tasks"]}


def _only(outputs, key):
    (artifact,) = outputs[key]
    return artifact


def test_the_first_run_pushes_the_only_version_to_s3(s3, s3_runs):
    import tensorflow as tf

    first = s3_runs["runs"][0]
    assert s3_runs["codes"][0] == 0, s3_runs["errors"]
    assert first["run"]["failed"] is None
    tasks = _tasks(first)
    assert set(tasks) == CONTAINER_TASKS
    for task in tasks.values():  # every artifact lies under the s3:// root
        for artifact in (a for listed in task["outputs"].values() for a in listed):
            assert artifact["uri"].startswith(s3.url(PREFIX, "root", "")), (task["name"], artifact)
    production = _only(tasks["ProductionModel"]["outputs"], "production")["metadata"]
    assert production["found"] == 0 and production["serving_version"] == ""  # first run
    assert first["blessed"] and first["pushed_model"].startswith(s3.url(PREFIX, "serving", ""))
    version = os.path.basename(first["pushed_model"])
    # Exactly one version, after both runs.
    assert tf.io.gfile.listdir(s3.url(PREFIX, "serving")) in ([version], [f"{version}/"])
    card = json.loads(tf.io.gfile.GFile(f"{first['pushed_model']}/model_card.json").read())
    assert card["provenance"]["pushed_version"] == version
    assert tf.io.gfile.exists(first["report"])


def test_the_next_run_finds_the_pushed_version_as_production(s3_runs):
    assert s3_runs["codes"][1] == 0, s3_runs["errors"]
    assert s3_runs["runs"][1]["run"]["failed"] is None
    first, second = (_tasks(run) for run in s3_runs["runs"])
    assert set(second) == {LOOKUP}
    version = os.path.basename(s3_runs["runs"][0]["pushed_model"])
    production = _only(second["ProductionModel"]["outputs"], "production")["metadata"]
    assert production["found"] == 1 and production["serving_version"] == version
    assert production["model_uri"] == _only(first["Trainer"]["outputs"], "model")["uri"]


def test_both_runs_are_recorded_in_the_local_ml_metadata_store(s3_runs):
    store = open_store(str(s3_runs["base"] / "metadata.sqlite"))
    (pipeline,) = store.get_contexts_by_type("system.Pipeline")
    runs = {run.name: run for run in store.get_children_contexts_by_context(pipeline.id)}
    first, second = (summary["run"]["run_id"] for summary in s3_runs["runs"])
    assert set(runs) == {first, second}
    types = {t.id: t.name for t in store.get_execution_types()}
    executions = store.get_executions_by_context(runs[first].id)
    assert {types[e.type_id] for e in executions} == {
        "system.DAGExecution",
        "system.ContainerExecution",
    }
    assert all(e.last_known_state == pb.Execution.COMPLETE for e in executions)
    states = {
        e.custom_properties["task_name"].string_value: e.last_known_state
        for e in store.get_executions_by_context(runs[second].id)
    }
    assert states == {"": pb.Execution.COMPLETE, LOOKUP: pb.Execution.COMPLETE}


def test_the_numbers_are_those_of_robustfx_run(s3_runs, first_run):
    _, _, reference = first_run
    run = s3_runs["runs"][0]
    for key in ("clean_accuracy", "worst_case_robust_accuracy", "robust_accuracy",
                "corruption_mean"):  # fmt: skip
        assert run[key] == reference[key], key
