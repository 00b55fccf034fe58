"""`robustfx kfp run-local` end to end: a tiny pipeline compiled, then run twice on one fresh
pipeline root, beside a `robustfx run` of the same config and seed. The first run blesses and
pushes; the second resolves the first run's RobustnessEvaluator blessing as its baseline and
pushes nothing; the numbers are those of `robustfx run`; a wrong Trainer module stops the run
at the Trainer."""

import contextlib
import io
import json
import os

import pytest
from ml_metadata.proto import metadata_store_pb2 as pb

from robustfx.cli import commands
from robustfx.cli import main as cli
from robustfx.pipeline.mlmd import open_store
from tests.helpers.kubeflow import run_local, write_spec

RUN_LOCAL_FLAGS = ["--epochs", "1", "--threshold", "clean=0.3", "--threshold", "worst_case=0",
                   "--threshold", "corruption_mean=0",
                   "--threshold", "corruption_worst=0"]  # fmt: skip
# The local runner's Beam settings (base.beam_config.DIRECT_RUNNER_ARGS), appended to the
# compiled direct-runner args (the last of a repeated flag wins): the same Beam execution as
# `robustfx run`, without a worker process, a TFX source package or a Prism download per
# Beam component. The spec's own defaults run in every other respect.
LOCAL_BEAM = [
    "--beam-option",
    "direct_running_mode=in_memory",
    "--beam-option",
    "update_compatibility_version=2.74.0",
    "--beam-option",
    "sdk_container_image=apache/beam_python3.10_sdk:2.74.0",
]


@pytest.fixture(scope="module")
def local_runs(small_mnist, tmp_path_factory):
    data_dir, _ = small_mnist
    base = tmp_path_factory.mktemp("run_local")
    spec_path, root, serving = base / "spec.json", base / "root", base / "serving"
    assert cli.main(
        ["kfp", "compile", "--data-dir", data_dir, "--output", str(spec_path),
         "--kfp-pipeline-root", str(base / "unused"), "--kfp-serving-dir", str(serving),
         "--kfp-data-dir", data_dir, *LOCAL_BEAM, *RUN_LOCAL_FLAGS]
    ) == 0  # fmt: skip
    summaries = []
    for index in (1, 2):
        summary = base / f"summary{index}.json"
        flags = ["--pipeline-root", str(root), "--summary-json", str(summary)]
        with contextlib.redirect_stdout(io.StringIO()):
            assert run_local(spec_path, *flags) == 0
        summaries.append(json.loads(summary.read_text()))
    return {"base": base, "spec": spec_path, "root": root, "serving": serving, "runs": summaries}


@pytest.fixture(scope="module")
def reference_run(small_mnist, tmp_path_factory):
    """`robustfx run` of the same config and seed."""
    data_dir, _ = small_mnist
    base = tmp_path_factory.mktemp("reference")
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(
            ["run", "--data-dir", data_dir, "--pipeline-root", str(base / "root"),
             "--serving-dir", str(base / "serving"), "--summary-json", str(base / "s.json"),
             *RUN_LOCAL_FLAGS]
        ) == 0  # fmt: skip
    return json.loads((base / "s.json").read_text())


def _tasks(summary):
    return {task["name"]: task for task in summary["run"]["tasks"]}


def _only(outputs, key):
    (artifact,) = outputs[key]
    return artifact


def test_the_first_run_blesses_and_pushes(local_runs):
    first = local_runs["runs"][0]
    tasks = _tasks(first)
    assert first["blessed"] and first["pushed_model"]
    assert os.listdir(local_runs["serving"]) == [os.path.basename(first["pushed_model"])]
    for resolver in ("model-blessing-resolver", "model-resolver"):  # no history: no baseline
        assert all(
            not a for a in tasks[f"latest_blessed_model_resolver-{resolver}"]["outputs"].values()
        )
    blessing = _only(tasks["RobustnessEvaluator"]["outputs"], "blessing")["metadata"]
    assert blessing["blessed"] == blessing["robustness_blessed"] == 1.0


def test_the_second_run_is_judged_against_the_first_blessing_and_pushes_nothing(local_runs):
    first, second = (_tasks(run) for run in local_runs["runs"])
    resolved = _only(
        second["latest_blessed_model_resolver-model-blessing-resolver"]["outputs"], "model_blessing"
    )
    assert resolved["uri"] == _only(first["RobustnessEvaluator"]["outputs"], "blessing")["uri"]
    assert (
        resolved["uri"] != _only(first["Evaluator"]["outputs"], "blessing")["uri"]
    )  # never TFMA's
    baseline = _only(second["latest_blessed_model_resolver-model-resolver"]["outputs"], "model")
    first_model = _only(first["Trainer"]["outputs"], "model")
    assert baseline["name"] == first_model["name"] and baseline["uri"] == first_model["uri"]
    blessing = _only(second["RobustnessEvaluator"]["outputs"], "blessing")["metadata"]
    assert blessing["baseline_model"] == first_model["uri"]
    assert blessing["baseline_is_candidate"] == 1.0  # the same model: judged alone, not twice
    summary = local_runs["runs"][1]
    assert summary["blessed"] and summary["pushed_model"] is None
    version = os.path.basename(local_runs["runs"][0]["pushed_model"])
    assert summary["push_skipped"].startswith(f"identical to serving version {version}")
    assert os.listdir(local_runs["serving"]) == [version]  # exactly one pushed version
    # ML Metadata: the evaluator's INPUT event names the first run's model as its baseline.
    store = open_store(str(local_runs["root"] / "metadata.sqlite"))
    events = store.get_events_by_execution_ids([second["RobustnessEvaluator"]["execution_id"]])
    inputs = {e.path.steps[0].key: e.artifact_id for e in events if e.type == pb.Event.INPUT}
    assert inputs["baseline_model"] == int(first_model["name"])


def test_both_runs_are_recorded_in_ml_metadata(local_runs):
    store = open_store(str(local_runs["root"] / "metadata.sqlite"))
    (pipeline,) = store.get_contexts_by_type("system.Pipeline")
    runs = store.get_children_contexts_by_context(pipeline.id)
    assert sorted(run.name for run in runs) == sorted(
        r["run"]["run_id"] for r in local_runs["runs"]
    )
    for run in runs:
        executions = store.get_executions_by_context(run.id)
        types = {t.id: t.name for t in store.get_execution_types()}
        by_type = {}
        for execution in executions:
            assert execution.last_known_state == pb.Execution.COMPLETE
            by_type.setdefault(types[execution.type_id], []).append(execution)
        assert len(by_type["system.DAGExecution"]) == 1
        assert len(by_type["system.ResolverExecution"]) == 2
        containers = by_type["system.ContainerExecution"]
        assert len(containers) == 9
        for execution in containers:
            properties = execution.custom_properties
            assert properties["image"].string_value == "robustfx:0.1.0"
            assert properties["parent_dag_id"].int_value == by_type["system.DAGExecution"][0].id
            assert properties["task_name"].string_value == properties["display_name"].string_value
    artifact_types = {t.id: t.name for t in store.get_artifact_types()}
    models = [a for a in store.get_artifacts() if artifact_types[a.type_id] == "tfx.Model"]
    assert len(models) == 2 and all(a.state == pb.Artifact.LIVE for a in models)
    assert {m.custom_properties["display_name"].string_value for m in models} == {"model"}


def test_the_numbers_are_those_of_robustfx_run(local_runs, reference_run):
    for run in local_runs["runs"]:
        for key in ("clean_accuracy", "worst_case_robust_accuracy", "robust_accuracy"):
            assert run[key] == reference_run[key], key
        assert run["blessed"] == reference_run["blessed"]


def test_a_wrong_trainer_module_fails_at_the_trainer_and_nothing_is_pushed(
    local_runs, tmp_path, capsys
):
    job = json.loads(local_runs["spec"].read_text())
    trainer = job["pipelineSpec"]["root"]["dag"]["tasks"]["Trainer"]["inputs"]["parameters"]
    trainer["run_fn"]["runtimeValue"]["constant"] = "robustfx.trainer.no_such_module.run_fn"
    serving = tmp_path / "serving"
    pusher = job["pipelineSpec"]["root"]["dag"]["tasks"]["Pusher"]["inputs"]["parameters"]
    destination = {"filesystem": {"base_directory": str(serving)}}
    pusher["push_destination"]["runtimeValue"]["constant"] = json.dumps(destination)
    broken = write_spec(tmp_path / "broken.json", job)
    assert run_local(broken, "--pipeline-root", str(tmp_path / "root")) == commands.EXIT_FAILED
    err = capsys.readouterr().err
    # TFX's ImportError, raised from the ModuleNotFoundError the log shows above it.
    missing = "ImportError: Could not import requested module path 'robustfx.trainer.no_such_"
    assert f"task Trainer failed: {missing}module'" in err
    log = err.split("(log: ")[1].split(")")[0]
    text = open(log).read()
    assert "No module named 'robustfx.trainer.no_such_module'" in text and "Traceback" in text
    assert not serving.exists()
    store = open_store(str(tmp_path / "root" / "metadata.sqlite"))
    states = {
        e.custom_properties["task_name"].string_value: e.last_known_state
        for e in store.get_executions()
    }
    assert states["Trainer"] == pb.Execution.FAILED and states[""] == pb.Execution.FAILED
    assert states["Transform"] == pb.Execution.COMPLETE
    assert not {"Evaluator", "RobustnessEvaluator", "Pusher"} & set(states)
