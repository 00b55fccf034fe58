"""Open-source KFP end to end on a real S3 API: `kfp compile --target oss`, then `kfp
run-local` twice on the compiled spec, with the data, the pipeline root and the serving
directory all on ``s3://`` (moto on 127.0.0.1), every task a fresh process that reaches S3
through the project's entrypoint and exits 0.

The first run blesses and pushes the only version; the second finds it as production (the
ProductionModel component), judges the same model against it, and pushes nothing. The
numbers are those of `robustfx run` on the same data and settings (the shared ``first_run``).
A wrong Trainer module stops a run at the Trainer, and nothing is pushed.
"""

import contextlib
import io
import json
import os

import pytest
from ml_metadata.proto import metadata_store_pb2 as pb

from robustfx.cli import commands
from robustfx.pipeline.mlmd import open_store
from tests.helpers.kubeflow import LOCAL_BEAM, compile_spec, run_local, write_spec
from tests.helpers.paths import copy_tree
from tests.helpers.pipeline_runs import RUN_FLAGS

PREFIX = "run_local_e2e"  # this module's corner of the session's bucket
CONTAINER_TASKS = {"ImportExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator",
                   "Transform", "Trainer", "ProductionModel", "Evaluator",
                   "RobustnessEvaluator", "Pusher"}  # fmt: skip


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
    summaries = []
    for index in (1, 2):
        summary = base / f"summary{index}.json"
        flags = ["--pipeline-root", root, "--metadata", str(base / "metadata.sqlite"),
                 "--summary-json", str(summary)]  # fmt: skip
        with contextlib.redirect_stdout(io.StringIO()):
            assert run_local(spec, *flags) == 0
        summaries.append(json.loads(summary.read_text()))
    return {"base": base, "spec": spec, "runs": summaries}


def _tasks(summary):
    return {task["name"]: task for task in summary["run"]["tasks"]}


def _only(outputs, key):
    (artifact,) = outputs[key]
    return artifact


def test_the_first_run_pushes_the_only_version_to_s3(s3, s3_runs):
    import tensorflow as tf

    first, second = s3_runs["runs"]
    tasks = _tasks(first)
    assert set(tasks) == CONTAINER_TASKS
    for task in tasks.values():  # every artifact lies under the s3:// root
        for artifact in (a for listed in task["outputs"].values() for a in listed):
            assert artifact["uri"].startswith(s3.url(PREFIX, "root", "")), (task["name"], artifact)
    production = _only(tasks["ProductionModel"]["outputs"], "production")["metadata"]
    assert production["found"] == 0 and production["serving_version"] == ""  # first run
    assert first["blessed"] and first["pushed_model"].startswith(s3.url(PREFIX, "serving", ""))
    version = os.path.basename(first["pushed_model"])
    assert tf.io.gfile.listdir(s3.url(PREFIX, "serving")) in ([version], [f"{version}/"])
    card = json.loads(tf.io.gfile.GFile(f"{first['pushed_model']}/model_card.json").read())
    assert card["provenance"]["pushed_version"] == version
    assert tf.io.gfile.exists(first["report"])
    assert second["pushed_model"] is None  # exactly one version, after both runs


def test_the_second_run_is_judged_against_the_first_runs_pushed_model(s3_runs):
    first, second = (_tasks(run) for run in s3_runs["runs"])
    version = os.path.basename(s3_runs["runs"][0]["pushed_model"])
    production = _only(second["ProductionModel"]["outputs"], "production")["metadata"]
    assert production["found"] == 1 and production["serving_version"] == version
    first_model = _only(first["Trainer"]["outputs"], "model")
    assert production["model_uri"] == first_model["uri"]
    blessing = _only(second["RobustnessEvaluator"]["outputs"], "blessing")["metadata"]
    assert blessing["baseline_model"] == first_model["uri"]
    assert blessing["baseline_serving_version"] == version
    assert blessing["baseline_is_candidate"] == 1  # the same model: judged alone
    summary = s3_runs["runs"][1]
    assert summary["blessed"] and summary["pushed_model"] is None
    assert summary["push_skipped"].startswith(f"identical to serving version {version}")


def test_both_runs_are_recorded_in_the_local_ml_metadata_store(s3_runs):
    store = open_store(str(s3_runs["base"] / "metadata.sqlite"))
    (pipeline,) = store.get_contexts_by_type("system.Pipeline")
    runs = store.get_children_contexts_by_context(pipeline.id)
    assert sorted(run.name for run in runs) == sorted(r["run"]["run_id"] for r in s3_runs["runs"])
    types = {t.id: t.name for t in store.get_execution_types()}
    for run in runs:
        executions = store.get_executions_by_context(run.id)
        assert {types[e.type_id] for e in executions} == {
            "system.DAGExecution",
            "system.ContainerExecution",
        }
        assert all(e.last_known_state == pb.Execution.COMPLETE for e in executions)


def test_the_numbers_are_those_of_robustfx_run(s3_runs, first_run):
    _, _, reference = first_run
    for run in s3_runs["runs"]:
        for key in ("clean_accuracy", "worst_case_robust_accuracy", "robust_accuracy",
                    "corruption_mean"):  # fmt: skip
            assert run[key] == reference[key], key


def test_a_wrong_trainer_module_fails_at_the_trainer_and_nothing_is_pushed(
    s3_runs, tmp_path, capsys
):
    job = json.loads(s3_runs["spec"].read_text())
    tasks = job["pipelineSpec"]["root"]["dag"]["tasks"]
    trainer = tasks["Trainer"]["inputs"]["parameters"]
    trainer["run_fn"]["runtimeValue"]["constant"] = "robustfx.trainer.no_such_module.run_fn"
    serving = tmp_path / "serving"
    destination = {"filesystem": {"base_directory": str(serving)}}
    tasks["Pusher"]["inputs"]["parameters"]["push_destination"]["runtimeValue"]["constant"] = (
        json.dumps(destination)
    )
    broken = write_spec(tmp_path / "broken.json", job)
    root = tmp_path / "root"
    assert run_local(broken, "--pipeline-root", str(root)) == commands.EXIT_FAILED
    err = capsys.readouterr().err
    # TFX's ImportError, raised from the ModuleNotFoundError the log shows above it.
    missing = "ImportError: Could not import requested module path 'robustfx.trainer.no_such_"
    assert f"task Trainer failed: {missing}module'" in err
    log = err.split("(log: ")[1].split(")")[0]
    text = open(log).read()
    assert "No module named 'robustfx.trainer.no_such_module'" in text and "Traceback" in text
    assert not serving.exists()
    store = open_store(str(root / "metadata.sqlite"))
    states = {
        e.custom_properties["task_name"].string_value: e.last_known_state
        for e in store.get_executions()
    }
    assert states["Trainer"] == pb.Execution.FAILED and states[""] == pb.Execution.FAILED
    assert states["Transform"] == pb.Execution.COMPLETE
    assert not {"Evaluator", "RobustnessEvaluator", "Pusher"} & set(states)
