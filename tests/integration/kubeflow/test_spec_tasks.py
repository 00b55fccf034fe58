"""The compiled spec as `robustfx kfp run-local` reads it (``kubeflow/spec_tasks.py``): the KFP
SDK loads it, its parameters reach every executor as KFP's driver resolves them, its tasks
run in dependency order with their own command lines, and a spec the driver cannot run is
refused before any task starts. No task runs here."""

import copy
import json
import sys

import pytest
from google.protobuf import json_format
from kfp import components
from kfp.pipeline_spec import pipeline_spec_pb2
from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_entrypoint_utils as entrypoint

from robustfx.cli import commands
from robustfx.kubeflow.local import tasks as spec_tasks
from tests.helpers.kubeflow import run_local, write_spec


def _container_tasks(job):
    return [task for task in spec_tasks.tasks_in_order(job) if task.kind == "container"]


def test_the_kfp_sdk_loads_the_compiled_pipeline_spec(spec, tmp_path):
    _, job = spec
    path = write_spec(tmp_path / "pipeline_spec.json", job["pipelineSpec"])
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
    # Production is looked up before the candidate is judged.
    assert order.index("ProductionModel") < order.index("RobustnessEvaluator")
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
    assert run_local(path, "--pipeline-root", str(tmp_path / "root")) == commands.EXIT_USAGE
    assert message in capsys.readouterr().err
    assert not (tmp_path / "root").exists()


def test_a_spec_the_driver_cannot_run_is_refused_before_any_task(spec, tmp_path, capsys):
    _, job = spec
    old = copy.deepcopy(job)  # pipeline spec 2.0's parameter form
    parameters = old["pipelineSpec"]["root"]["dag"]["tasks"]["Transform"]["inputs"]["parameters"]
    parameters["module_path"] = {"runtimeValue": {"constantValue": {"stringValue": "m"}}}
    old_spec = write_spec(tmp_path / "old.json", old)
    assert (
        run_local(old_spec, "--target", "vertex", "--pipeline-root", str(tmp_path / "r1"))
        == commands.EXIT_USAGE
    )
    assert "task Transform parameter 'module_path': runtimeValue.constantValue" in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "r1").exists()


@pytest.mark.parametrize(
    "kind, executor, message",
    [
        ("resolver", {"resolver": {"outputArtifactQueries": {}}},
         "resolver executors not implemented"),
        ("custom job", {"customJob": {"customJob": {}}},
         "custom job executors is Google Cloud only, it's not supported"),
    ],
)  # fmt: skip
def test_what_open_source_kfp_refuses_run_local_refuses_before_any_task(
    oss_spec, tmp_path, capsys, kind, executor, message
):
    """The spec this project compiles passes; the same spec with a resolver, a custom job or
    an artifact iterator is refused in KFP's words, and nothing runs."""
    _, job = oss_spec
    odd = copy.deepcopy(job)
    odd["pipelineSpec"]["deploymentSpec"]["executors"]["Trainer_executor"] = executor
    path = write_spec(tmp_path / "odd.json", odd)
    root = tmp_path / "root"
    assert run_local(path, "--pipeline-root", str(root)) == commands.EXIT_USAGE
    err = capsys.readouterr().err
    assert f"open-source KFP refuses this spec: component Trainer: {message}" in err
    iterated = copy.deepcopy(job)
    iterated["pipelineSpec"]["root"]["dag"]["tasks"]["Pusher"]["artifactIterator"] = {}
    path = write_spec(tmp_path / "iterated.json", iterated)
    assert run_local(path, "--pipeline-root", str(root)) == commands.EXIT_USAGE
    assert "task Pusher: artifact iterator not implemented yet" in capsys.readouterr().err
    assert not root.exists()


def test_a_remote_root_needs_a_local_metadata_store(oss_spec, tmp_path, capsys):
    path, _ = oss_spec  # its own root is s3://
    assert run_local(path) == commands.EXIT_USAGE
    assert "is remote: give --metadata" in capsys.readouterr().err
