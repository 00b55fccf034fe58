"""`robustfx kfp run-local`: the compiled spec executed as KFP's v2 driver and launcher would.

The unit tests read the spec compiled by the shared fixture (no task runs). The e2e tests
compile a tiny pipeline and run it twice on one fresh pipeline root, beside a `robustfx run`
of the same config and seed: the first run blesses and pushes, the second resolves the first
run's RobustnessEvaluator blessing as its baseline and pushes nothing, and the numbers are
those of `robustfx run`.
"""

import contextlib
import copy
import io
import json
import os
import sys

import pytest
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2
from ml_metadata.proto import metadata_store_pb2 as pb
from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_entrypoint_utils as entrypoint

from robustfx.cli import commands
from robustfx.cli import main as cli
from robustfx.kubeflow import spec_tasks
from robustfx.kubeflow.local_metadata import open_store

RUN_LOCAL_FLAGS = ["--epochs", "1", "--threshold", "clean=0.3", "--threshold", "worst_case=0"]
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


def _run_local(spec, root, *flags):
    return cli.main(["kfp", "run-local", "--spec", str(spec), "--pipeline-root", str(root), *flags])


def _write(path, job):
    path.write_text(json.dumps(job))
    return path


def _container_tasks(job):
    return [task for task in spec_tasks.tasks_in_order(job) if task.kind == "container"]


# Unit tests on the shared compiled spec.


def test_the_kfp_sdk_loads_the_compiled_pipeline_spec(spec, tmp_path):
    from kfp import components

    _, job = spec
    path = _write(tmp_path / "pipeline_spec.json", job["pipelineSpec"])
    component = components.load_component_from_file(str(path))
    assert component.name == job["pipelineSpec"]["pipelineInfo"]["name"]
    assert component.pipeline_spec.root.dag.tasks["Trainer"].component_ref.name == "Trainer"


def test_the_spec_is_pipeline_spec_2_1_whose_parameters_the_driver_reads(spec):
    """KFP's v2 driver resolves ``runtimeValue.constant`` and refuses 2.0's
    ``constantValue``; TFX's entrypoint reads ``parameterValues`` only when it is given the
    task's inputs spec."""
    _, job = spec
    assert job["pipelineSpec"]["schemaVersion"] == "2.1.0"
    for task in _container_tasks(job):
        for name, value in task.spec.get("inputs", {}).get("parameters", {}).items():
            assert set(value["runtimeValue"]) == {"constant"}, (task.name, name)
        assert "--json_serialized_inputs_spec_args" in task.executor["container"]["args"]


def _exec_properties(task, values, with_inputs_spec=True):
    """What TFX's container entrypoint makes of the ExecutorInput `run-local` builds."""
    container = task.executor["container"]
    argv = spec_tasks.command_line(
        container, spec_tasks.executor_input(values, {}, {}), sys.executable
    )
    executor_input = pipeline_spec_pb2.ExecutorInput()
    json_format.Parse(argv[argv.index("--json_serialized_invocation_args") + 1], executor_input)
    inputs_spec = None
    if with_inputs_spec:
        inputs_spec = pipeline_spec_pb2.ComponentInputsSpec()
        json_format.Parse(argv[argv.index("--json_serialized_inputs_spec_args") + 1], inputs_spec)
    return entrypoint.parse_execution_properties(
        executor_input.inputs.parameter_values, executor_input.inputs.parameters, inputs_spec
    )


def test_every_execution_parameter_survives_the_trip_to_the_executor(spec):
    _, job = spec
    for task in _container_tasks(job):
        constants = {
            name: value["runtimeValue"]["constant"]
            for name, value in task.spec.get("inputs", {}).get("parameters", {}).items()
        }
        values = spec_tasks.parameter_values(task, {})
        properties = _exec_properties(task, values)
        assert properties == {
            name: int(value) if isinstance(value, float) else value
            for name, value in constants.items()
        }, task.name
        # Without the inputs spec (what TFX compiles for pipeline spec 2.0) nothing arrives.
        assert not constants or _exec_properties(task, values, with_inputs_spec=False) == {}
    trainer = next(task for task in _container_tasks(job) if task.name == "Trainer")
    custom_config = json.loads(
        _exec_properties(trainer, spec_tasks.parameter_values(trainer, {}))["custom_config"]
    )
    assert custom_config["training"]["seed"] == 42
    assert custom_config["adversarial"]["pgd_iterations"] == 3


def test_tasks_run_after_every_task_they_depend_on(spec):
    _, job = spec
    order = [task.name for task in spec_tasks.tasks_in_order(job)]
    tasks = job["pipelineSpec"]["root"]["dag"]["tasks"]
    for name, task in tasks.items():
        upstream = set(task.get("dependentTasks", [])) | {
            value["taskOutputArtifact"]["producerTask"]
            for value in task.get("inputs", {}).get("artifacts", {}).values()
        }
        assert all(order.index(other) < order.index(name) for other in upstream), name
    # The model resolver names no dependentTasks: its blessing input orders it.
    assert order.index("latest_blessed_model_resolver-model-blessing-resolver") < order.index(
        "latest_blessed_model_resolver-model-resolver"
    )
    looped = copy.deepcopy(job)
    looped["pipelineSpec"]["root"]["dag"]["tasks"]["ImportExampleGen"]["dependentTasks"] = [
        "Pusher"
    ]
    with pytest.raises(spec_tasks.SpecError, match="cycle"):
        spec_tasks.tasks_in_order(looped)


def test_the_command_line_is_the_containers_own(spec):
    _, job = spec
    trainer = next(task for task in _container_tasks(job) if task.name == "Trainer")
    container = trainer.executor["container"]
    executor_input = spec_tasks.executor_input({"a": "b"}, {}, {"outputFile": "/r/out.json"})
    argv = spec_tasks.command_line(container, executor_input, "/venv/bin/python")
    assert argv[0] == "/venv/bin/python" and container["command"][0] == "python"
    assert argv[1:] == [
        json.dumps(executor_input, separators=(",", ":")) if arg == "{{$}}" else arg
        for arg in container["command"][1:] + container["args"]
    ]


def test_the_compiled_baseline_model_query_matches_the_blessed_models_uri(spec):
    """TFX's query by ``name=current_model_id`` never matches the RobustnessEvaluator's
    blessing inside a KFP task (the id is TFX's hash of the model's runtime name); the
    compiled query matches the model's URI, its ``current_model`` property."""
    _, job = spec
    executors = job["pipelineSpec"]["deploymentSpec"]["executors"]
    query = executors["latest_blessed_model_resolver-model-resolver_executor"]["resolver"]
    assert query["outputArtifactQueries"]["model"]["filter"] == (
        'schema_title="tfx.Model" AND state=LIVE AND '
        "uri=\"{{$.inputs.artifacts['input'].metadata['current_model']}}\""
    )


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "does not exist"),
        ("{not json", "is not JSON"),
        ('{"displayName": "x"}', "no pipelineSpec"),
    ],
)
def test_a_bad_spec_is_a_usage_error(tmp_path, capsys, content, message):
    path = tmp_path / "spec.json"
    if content is not None:
        path.write_text(content)
    assert _run_local(path, tmp_path / "root") == commands.EXIT_USAGE
    assert message in capsys.readouterr().err
    assert not (tmp_path / "root").exists()


def test_a_spec_the_driver_cannot_run_is_refused_before_any_task(spec, tmp_path, capsys):
    _, job = spec
    old = copy.deepcopy(job)  # pipeline spec 2.0's parameter form
    parameters = old["pipelineSpec"]["root"]["dag"]["tasks"]["Transform"]["inputs"]["parameters"]
    parameters["module_path"] = {"runtimeValue": {"constantValue": {"stringValue": "m"}}}
    assert _run_local(_write(tmp_path / "old.json", old), tmp_path / "r1") == 2
    assert "task Transform parameter 'module_path': runtimeValue.constantValue" in (
        capsys.readouterr().err
    )
    odd = copy.deepcopy(job)
    executors = odd["pipelineSpec"]["deploymentSpec"]["executors"]
    query = executors["latest_blessed_model_resolver-model-blessing-resolver_executor"]
    query["resolver"]["outputArtifactQueries"]["model_blessing"]["filter"] += " OR state=DELETED"
    assert _run_local(_write(tmp_path / "odd.json", odd), tmp_path / "r2") == 2
    assert "unsupported clause 'metadata.robustness_blessed.number_value=1 OR state=DELETED'" in (
        capsys.readouterr().err
    )
    assert _run_local(tmp_path / "odd.json", "gs://bucket/root") == 2
    assert "not a local directory" in capsys.readouterr().err
    assert not (tmp_path / "r1").exists() and not (tmp_path / "r2").exists()


# End to end: the real pipeline, twice, from one compiled spec.


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
        with contextlib.redirect_stdout(io.StringIO()):
            assert _run_local(spec_path, root, "--summary-json", str(summary)) == 0
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


@pytest.mark.e2e
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


@pytest.mark.e2e
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


@pytest.mark.e2e
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


@pytest.mark.e2e
def test_the_numbers_are_those_of_robustfx_run(local_runs, reference_run):
    for run in local_runs["runs"]:
        for key in ("clean_accuracy", "worst_case_robust_accuracy", "robust_accuracy"):
            assert run[key] == reference_run[key], key
        assert run["blessed"] == reference_run["blessed"]


@pytest.mark.e2e
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
    broken = _write(tmp_path / "broken.json", job)
    assert _run_local(broken, tmp_path / "root") == commands.EXIT_FAILED
    err = capsys.readouterr().err
    missing = "ModuleNotFoundError: No module named 'robustfx.trainer.no_such_module'"
    assert f"task Trainer failed: {missing}" in err
    log = err.split("(log: ")[1].split(")")[0]
    assert os.path.isfile(log) and "Traceback" in open(log).read()
    assert not serving.exists()
    store = open_store(str(tmp_path / "root" / "metadata.sqlite"))
    states = {
        e.custom_properties["task_name"].string_value: e.last_known_state
        for e in store.get_executions()
    }
    assert states["Trainer"] == pb.Execution.FAILED and states[""] == pb.Execution.FAILED
    assert states["Transform"] == pb.Execution.COMPLETE
    assert not {"Evaluator", "RobustnessEvaluator", "Pusher"} & set(states)
