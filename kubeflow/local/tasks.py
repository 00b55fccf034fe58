"""What KFP's v2 driver reads from a compiled PipelineJob, and the ExecutorInput it builds.

Pure functions on the JSON: the root DAG's tasks in dependency order (``dependentTasks`` and
every ``taskOutputArtifact`` / ``taskOutputParameter`` producer), each task's executor, its
parameter values resolved as the driver resolves them (``runtimeValue.constant``,
``componentInputParameter``, ``taskOutputParameter``; a STRING parameter given another JSON
value becomes its text), the outputs it provisions under the task's root, the ExecutorInput
JSON, and the container's command line with ``{{$}}`` and the other placeholders filled.
What the driver does not implement is refused here, naming the task and the field.
"""

import dataclasses
import json
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from robustfx.base.validation import ConfigError

OUTPUT_METADATA_FILE = "output_metadata.json"


class SpecError(ConfigError):
    """The compiled spec uses something KFP's driver (or this runner) does not handle."""


@dataclasses.dataclass(frozen=True)
class Task:
    """One task of the root DAG with its component and executor specs."""

    name: str
    spec: Mapping[str, Any]
    component: Mapping[str, Any]
    executor: Mapping[str, Any]

    @property
    def kind(self) -> str:
        """container or importer: what open-source KFP runs (``oss_rules``)."""
        return "importer" if "importer" in self.executor else "container"

    @property
    def cached(self) -> bool:
        """Whether KFP may answer this task from its cache (``cachingOptions``)."""
        return bool((self.spec.get("cachingOptions") or {}).get("enableCache"))

    def artifact_inputs(self) -> Dict[str, Tuple[str, str]]:
        """Input name -> (producer task, output key)."""
        found = {}
        for name, spec in (self.spec.get("inputs", {}).get("artifacts") or {}).items():
            upstream = spec.get("taskOutputArtifact")
            if not upstream:
                raise SpecError(
                    f"task {self.name}: input artifact {name!r} is not a taskOutputArtifact "
                    f"({', '.join(spec)}), which this runner does not handle"
                )
            found[name] = (upstream["producerTask"], upstream["outputArtifactKey"])
        return found

    def upstream(self) -> set:
        producers = {producer for producer, _ in self.artifact_inputs().values()}
        for spec in (self.spec.get("inputs", {}).get("parameters") or {}).values():
            if "taskOutputParameter" in spec:
                producers.add(spec["taskOutputParameter"]["producerTask"])
        return producers | set(self.spec.get("dependentTasks") or [])


def tasks_in_order(job: Mapping[str, Any]) -> List[Task]:
    """The root DAG's tasks, each after every task it depends on (ties by name)."""
    spec = job["pipelineSpec"]
    dag = spec.get("root", {}).get("dag")
    if not dag or not dag.get("tasks"):
        raise SpecError("the spec's pipelineSpec.root has no dag.tasks")
    executors = spec.get("deploymentSpec", {}).get("executors", {})
    tasks = {}
    for name, task_spec in dag["tasks"].items():
        for unsupported in ("triggerPolicy", "parameterIterator", "artifactIterator"):
            if unsupported in task_spec:
                raise SpecError(f"task {name}: {unsupported} is not supported by this runner")
        component = spec.get("components", {}).get(task_spec.get("componentRef", {}).get("name"))
        if component is None or "dag" in component:
            raise SpecError(f"task {name}: its component is missing or a sub-DAG (unsupported)")
        executor = executors.get(component.get("executorLabel", ""))
        if not executor or not ({"container", "importer"} & set(executor)):
            raise SpecError(
                f"task {name}: executor {component.get('executorLabel')!r} is missing or "
                "neither a container nor an importer (the only executors open-source KFP runs)"
            )
        tasks[name] = Task(name, task_spec, component, executor)
    ordered, done = [], set()
    while len(ordered) < len(tasks):
        ready = sorted(
            name for name, task in tasks.items() if name not in done and task.upstream() <= done
        )
        if not ready:
            left = {
                name: sorted(tasks[name].upstream() - done) for name in tasks if name not in done
            }
            raise SpecError(f"the DAG has a cycle or an unknown producer among {left}")
        ordered.append(tasks[ready[0]])
        done.add(ready[0])
    return ordered


def root_parameters(job: Mapping[str, Any]) -> Dict[str, Any]:
    """The run's input parameters: runtimeConfig.parameterValues over the root's defaults."""
    root = job["pipelineSpec"].get("root", {})
    values = {
        name: spec["defaultValue"]
        for name, spec in (root.get("inputDefinitions", {}).get("parameters") or {}).items()
        if "defaultValue" in spec
    }
    runtime = job.get("runtimeConfig", {})
    if runtime.get("parameters"):
        raise SpecError(
            "runtimeConfig.parameters (pipeline spec 2.0) is not read by KFP's v2 driver: "
            "give runtimeConfig.parameterValues"
        )
    values.update(runtime.get("parameterValues") or {})
    return values


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return json.dumps(value, separators=(",", ":"))


def parameter_values(
    task: Task, root: Mapping[str, Any], upstream: Optional[Mapping[str, Mapping]] = None
) -> Dict[str, Any]:
    """The task's input parameter values as KFP's driver resolves them.

    Args:
      root: the run's input parameters (``root_parameters``).
      upstream: output parameters of the tasks that ran, by task name; None checks the
        parameters before anything runs (an upstream output counts as '').
    """
    definitions = task.component.get("inputDefinitions", {}).get("parameters") or {}
    values = {}
    for name, spec in (task.spec.get("inputs", {}).get("parameters") or {}).items():
        where = f"task {task.name} parameter {name!r}"
        runtime = spec.get("runtimeValue")
        if runtime is not None and "constant" in runtime:
            values[name] = runtime["constant"]
        elif runtime is not None and "constantValue" in runtime:
            raise SpecError(
                f"{where}: runtimeValue.constantValue (pipeline spec 2.0) is not implemented "
                "by KFP's v2 driver, which reads runtimeValue.constant (pipeline spec 2.1)"
            )
        elif "componentInputParameter" in spec:
            if spec["componentInputParameter"] not in root:
                raise SpecError(
                    f"{where}: the run has no input {spec['componentInputParameter']!r}"
                )
            values[name] = root[spec["componentInputParameter"]]
        elif "taskOutputParameter" in spec:
            producer = spec["taskOutputParameter"]["producerTask"]
            key = spec["taskOutputParameter"]["outputParameterKey"]
            if upstream is None:
                values[name] = ""
            elif key not in upstream.get(producer, {}):
                raise SpecError(f"{where}: task {producer} has no output parameter {key!r}")
            else:
                values[name] = upstream[producer][key]
        else:
            raise SpecError(f"{where}: {', '.join(spec)} is not supported by this runner")
    for name, definition in definitions.items():
        if name not in values and "defaultValue" in definition:
            values[name] = definition["defaultValue"]  # as KFP's launcher adds it
        if name not in values:
            if not definition.get("isOptional"):
                raise SpecError(f"task {task.name}: parameter {name!r} has no value")
            continue
        kind = definition.get("parameterType")
        if kind is None:
            raise SpecError(f"task {task.name}: parameter {name!r} has no parameterType (spec 2.0)")
        if kind == "STRING":
            values[name] = _as_text(values[name])
    return values


def provision_outputs(task: Task, task_root: str, local_dir: str) -> Dict[str, Any]:
    """The ``outputs`` of the ExecutorInput: one artifact per output under the task root
    (local or remote), and in ``local_dir`` (the pod's own disk for KFP's launcher) a file
    per output parameter and the executor output file."""
    definitions = task.component.get("outputDefinitions", {})
    outputs: Dict[str, Any] = {"outputFile": f"{local_dir}/{OUTPUT_METADATA_FILE}"}
    artifacts = {
        name: {
            "artifacts": [
                {
                    "name": name,
                    "uri": f"{task_root}/{name}",
                    "type": spec["artifactType"],
                    **({"metadata": spec["metadata"]} if spec.get("metadata") else {}),
                }
            ]
        }
        for name, spec in (definitions.get("artifacts") or {}).items()
    }
    if artifacts:
        outputs["artifacts"] = artifacts
    parameters = {
        name: {"outputFile": f"{local_dir}/outputs/{name}"}
        for name in definitions.get("parameters") or {}
    }
    if parameters:
        outputs["parameters"] = parameters
    return outputs


def executor_input(
    parameters: Mapping[str, Any],
    artifacts: Mapping[str, Sequence[Mapping]],
    outputs: Mapping[str, Any],
) -> Dict[str, Any]:
    """KFP's ExecutorInput as JSON (protojson field names, empty maps left out)."""
    inputs: Dict[str, Any] = {}
    if parameters:
        inputs["parameterValues"] = dict(parameters)
    if artifacts:
        inputs["artifacts"] = {name: {"artifacts": list(a)} for name, a in artifacts.items()}
    return {"inputs": inputs, "outputs": dict(outputs)}


def _placeholders(executor_input_json: Mapping[str, Any]) -> Dict[str, str]:
    inputs, outputs = executor_input_json["inputs"], executor_input_json["outputs"]
    found = {}
    for name, value in (inputs.get("parameterValues") or {}).items():
        found[f"{{{{$.inputs.parameters['{name}']}}}}"] = _as_text(value)
    for side, group in (("inputs", inputs), ("outputs", outputs)):
        for name, listed in (group.get("artifacts") or {}).items():
            if listed["artifacts"]:
                uri = listed["artifacts"][0]["uri"]
                found[f"{{{{$.{side}.artifacts['{name}'].uri}}}}"] = uri
                found[f"{{{{$.{side}.artifacts['{name}'].path}}}}"] = uri
    for name, parameter in (outputs.get("parameters") or {}).items():
        found[f"{{{{$.outputs.parameters['{name}'].output_file}}}}"] = parameter["outputFile"]
    return found


def command_line(
    container: Mapping[str, Any], executor_input_json: Mapping[str, Any], python: str
) -> List[str]:
    """The container's ``command`` + ``args`` as KFP's launcher runs them: ``{{$}}`` is the
    ExecutorInput JSON. A leading ``python`` becomes the interpreter given as ``python``
    (the image's own is the one that has the project installed)."""
    text = json.dumps(executor_input_json, separators=(",", ":"))
    placeholders = _placeholders(executor_input_json)
    command = [part.replace("{{$}}", text) for part in container.get("command") or []]
    args = []
    for arg in container.get("args") or []:
        arg = arg.replace("{{$}}", text)
        for placeholder, value in placeholders.items():
            arg = arg.replace(placeholder, value)
        args.append(arg)
    argv = command + args
    if not argv:
        raise SpecError("the container has neither command nor args (the image's entrypoint)")
    if argv[0] in ("python", "python3"):
        argv[0] = python
    return argv


def merge_output(provisioned: Mapping[str, Any], written: Mapping[str, Any]) -> Dict[str, Any]:
    """An output artifact after the executor: its URI and metadata as the executor wrote
    them over what the driver provisioned (KFP's ``mergeRuntimeArtifacts``)."""
    merged = dict(provisioned)
    if written.get("uri"):
        merged["uri"] = written["uri"]
    merged["metadata"] = {**(provisioned.get("metadata") or {}), **(written.get("metadata") or {})}
    return merged
