"""What open-source Kubeflow Pipelines can run, checked on a compiled spec before upload.

The rules and their messages are KFP's own, read in its backend (kubeflow/pipelines,
``backend/src/v2``; the same at tags 2.0.0, 2.5.0 and 2.17.0):

- ``compiler/visitor.go`` (``dfs``): a component's executor must be a container or an
  importer: "executor(label=%q): non-container and non-importer executor not implemented";
  an executor label missing from the deployment config: "executor(label=%q) not found in
  deployment config".
- ``compiler/argocompiler/dag.go``: "resolver executors not implemented", "custom job
  executors is Google Cloud only, it's not supported", "artifact iterator not implemented
  yet", "triggerPolicy.condition on importer task is not supported".
- ``driver/driver.go`` (``initPodSpecPatch``): an accelerator's type becomes the name of a
  Kubernetes resource limit (``res.Limits[k8score.ResourceName(acceleratorType)]``), so it
  must be one (``nvidia.com/gpu``), not Vertex AI's machine name (``NVIDIA_TESLA_T4``);
  Kubernetes refuses any other name with the message used here.

KFP compiles these when a run or recurring run is created, after the upload succeeded, so
``robustfx kfp compile --target oss`` and ``kfp run-local`` apply them first.
"""

import re
from typing import Any, Iterator, List, Mapping, Tuple

# A Kubernetes extended resource name: a DNS subdomain prefix, '/', a name.
_RESOURCE_NAME = re.compile(
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
)


def is_resource_name(name: str) -> bool:
    """Whether ``name`` is a fully qualified Kubernetes resource name (``nvidia.com/gpu``)."""
    return bool(_RESOURCE_NAME.fullmatch(name or ""))


def _components(spec: Mapping[str, Any]) -> Iterator[Tuple[str, Mapping[str, Any]]]:
    yield "root", spec.get("root") or {}
    yield from (spec.get("components") or {}).items()


def _executor_refusal(label: str, executor: Mapping[str, Any]) -> str:
    """visitor.go's check, then dag.go's message for the kinds it names."""
    if executor is None:
        return f"executor(label={label!r}) not found in deployment config"
    if "container" in executor or "importer" in executor:
        return ""
    if "resolver" in executor:
        return "resolver executors not implemented"
    if "customJob" in executor:
        return "custom job executors is Google Cloud only, it's not supported"
    return f"executor(label={label!r}): non-container and non-importer executor not implemented"


def _task_refusals(name: str, task: Mapping[str, Any], executor: Mapping) -> List[str]:
    refused = []
    if "artifactIterator" in task:
        refused.append(f"task {name}: artifact iterator not implemented yet")
    condition = (task.get("triggerPolicy") or {}).get("condition")
    if condition and executor is not None and "importer" in executor:
        refused.append(f"task {name}: triggerPolicy.condition on importer task is not supported")
    return refused


def _accelerator_refusal(label: str, executor: Mapping[str, Any]) -> str:
    resources = ((executor or {}).get("container") or {}).get("resources") or {}
    accelerator = resources.get("accelerator") or {}
    kind = accelerator.get("resourceType") or accelerator.get("type") or ""
    if not kind or is_resource_name(kind):
        return ""
    return (
        f"executor {label}: accelerator {kind!r}: invalid resource name {kind!r}: must be a "
        "standard resource type or fully qualified (e.g. nvidia.com/gpu; "
        f"{kind} is a Vertex AI name: compile with --target vertex for Vertex AI)"
    )


def oss_refusals(pipeline_spec: Mapping[str, Any]) -> List[str]:
    """Every reason open-source KFP would refuse ``pipeline_spec`` (a bare PipelineSpec),
    in KFP's words with the task or executor named; [] when it would compile it."""
    executors = (pipeline_spec.get("deploymentSpec") or {}).get("executors") or {}
    refused = []
    for component_name, component in _components(pipeline_spec):
        label = component.get("executorLabel")
        if label:
            problem = _executor_refusal(label, executors.get(label))
            if problem:
                refused.append(f"component {component_name}: {problem}")
        for task_name, task in ((component.get("dag") or {}).get("tasks") or {}).items():
            ref = (task.get("componentRef") or {}).get("name", "")
            task_label = ((pipeline_spec.get("components") or {}).get(ref) or {}).get(
                "executorLabel"
            )
            refused += _task_refusals(task_name, task, executors.get(task_label))
    for label, executor in executors.items():
        problem = _accelerator_refusal(label, executor)
        if problem:
            refused.append(problem)
    return refused
