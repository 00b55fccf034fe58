"""The verdict in the KFP UI: the RobustnessEvaluator's headline figures and report as KFP's own
``system.Metrics`` and ``system.HTML`` artifacts, which the KFP (and Vertex) run page shows
without a download and compares across runs.

TFX compiles its artifacts with their own schema titles (``tfx.Metrics``, ``tfx.File``), which the
UI shows only as files. The compiled spec declares these two outputs with KFP's system types
instead (``declare_system_types``). TFX's entrypoint finds an artifact's Python class from its
type, and has none for ``system.*``, so the project's entrypoint hands those outputs to TFX under
TFX's own types (``as_tfx_types``); KFP's launcher records them with the spec's system types.
"""

import copy
from typing import Any, Dict, Mapping

EVALUATOR_TASK = "RobustnessEvaluator"
# Output key -> (KFP's system type, the TFX type whose class the executor writes).
SYSTEM_OUTPUTS: Dict[str, tuple] = {
    "metrics": ("system.Metrics", "tfx.Metrics"),
    "report": ("system.HTML", "tfx.File"),
}
SCHEMA_VERSION = "0.0.1"


def system_type(title: str) -> Dict[str, str]:
    return {"schemaTitle": title, "schemaVersion": SCHEMA_VERSION}


def tfx_type(title: str) -> Dict[str, str]:
    return {"instanceSchema": f"title: {title}\ntype: object\n"}


def declare_system_types(job: Mapping[str, Any]) -> int:
    """Declares the evaluator's UI outputs with KFP's system types; returns how many."""
    components = job["pipelineSpec"]["components"]
    tasks = job["pipelineSpec"]["root"]["dag"]["tasks"]
    if EVALUATOR_TASK not in tasks:
        return 0
    component = components[tasks[EVALUATOR_TASK]["componentRef"]["name"]]
    outputs = component.get("outputDefinitions", {}).get("artifacts") or {}
    changed = 0
    for key, (system, _) in SYSTEM_OUTPUTS.items():
        if key in outputs:
            outputs[key]["artifactType"] = system_type(system)
            changed += 1
    return changed


def as_tfx_types(executor_input: Mapping[str, Any]) -> Dict[str, Any]:
    """The ExecutorInput with outputs of KFP's system types given TFX's equivalents."""
    mapped = copy.deepcopy(dict(executor_input))
    to_tfx = {system: tfx for system, tfx in SYSTEM_OUTPUTS.values()}
    for listed in (mapped.get("outputs", {}).get("artifacts") or {}).values():
        for artifact in listed.get("artifacts") or []:
            title = (artifact.get("type") or {}).get("schemaTitle")
            if title in to_tfx:
                artifact["type"] = tfx_type(to_tfx[title])
    return mapped


def type_title(artifact_type: Mapping[str, Any]) -> str:
    """An artifact type's name, from its schema title or its instance schema's title."""
    if artifact_type.get("schemaTitle"):
        return artifact_type["schemaTitle"]
    import yaml

    title = (yaml.safe_load(artifact_type.get("instanceSchema") or "") or {}).get("title")
    if not title:
        raise ValueError(f"artifact type {dict(artifact_type)!r} has no title")
    return title
