"""ML Metadata records of a local KFP run, shaped as KFP's v2 driver and launcher write them.

One SQLite store under the pipeline root holds every run, so one run's outputs are the next
run's history. As in KFP (``backend/src/v2/metadata``): a ``system.Pipeline`` context per
pipeline name and a ``system.PipelineRun`` context per run (its parent); a
``system.DAGExecution`` for the run's root DAG; a ``system.ContainerExecution`` per container
task with the custom properties ``display_name``, ``task_name``, ``parent_dag_id``, ``image``,
``pod_name``, ``pod_uid``, ``namespace`` and ``inputs`` (the parameter values), RUNNING until
it ends COMPLETE or FAILED; INPUT and OUTPUT events keyed by the input or output name; and
output artifacts typed by their schema title (``tfx.Model``), schemaless, LIVE, whose
custom properties are the metadata the executor wrote (strings, numbers as doubles, booleans
as ints, lists and structs wrapped in a struct) plus ``display_name`` and
``store_session_info``. A task sees an artifact as KFP's driver gives it: its id as ``name``,
its properties and custom properties as ``metadata``. An importer task is a
``system.ImporterExecution`` with an OUTPUT event for the artifact it records. A container
execution whose cache key (``cache_key``) is set can answer later tasks with the same key:
those are recorded CACHED, with OUTPUT events on the same artifacts.
"""

import json
from typing import Any, Dict, List, Mapping, Optional, Sequence

from google.protobuf import json_format, struct_pb2
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

from robustfx.kubeflow.ui_artifacts import type_title

PIPELINE_CONTEXT = "system.Pipeline"
RUN_CONTEXT = "system.PipelineRun"
DAG_EXECUTION = "system.DAGExecution"
CONTAINER_EXECUTION = "system.ContainerExecution"
IMPORTER_EXECUTION = "system.ImporterExecution"
CACHE_FINGERPRINT = "cache_fingerprint"  # as KFP's cache records it, per execution
NAMESPACE = "local"
# What KFP's launcher records of the object store holding an artifact; here the local disk.
STORE_SESSION_INFO = json.dumps({"Provider": "local", "Params": {}})


def _struct(fields: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    json_format.ParseDict(dict(fields), struct)
    return struct


def to_mlmd_value(value: Any) -> pb.Value:
    """A JSON value of a runtime artifact's metadata as KFP's ``StructValueToMLMDValue``
    stores it."""
    if isinstance(value, bool):
        return pb.Value(int_value=int(value))
    if isinstance(value, str):
        return pb.Value(string_value=value)
    if isinstance(value, (int, float)):
        return pb.Value(double_value=float(value))
    if isinstance(value, list):
        return pb.Value(struct_value=_struct({"list": value}))
    if isinstance(value, dict):
        return pb.Value(struct_value=_struct({"struct": value}))
    raise TypeError(f"metadata value {value!r} has no ML Metadata form (KFP refuses null)")


def to_json_value(value: pb.Value) -> Any:
    """An ML Metadata value as KFP's driver hands it to a task (``toRuntimeArtifact``)."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind in ("double_value", "int_value"):
        return float(getattr(value, kind))
    if kind == "struct_value":
        return json_format.MessageToDict(value.struct_value)
    raise TypeError(f"ML Metadata value of kind {kind!r} has no runtime-artifact form")


def _event(kind: int, key: str, artifact_id: Optional[int] = None) -> pb.Event:
    event = pb.Event(type=kind)
    event.path.steps.add().key = key
    if artifact_id is not None:
        event.artifact_id = artifact_id
    return event


class RunRecords:
    """Writes one run's contexts, executions, artifacts and events into the store."""

    def __init__(
        self,
        store: metadata_store.MetadataStore,
        pipeline_name: str,
        run_id: str,
        run_root: str,
        parameter_values: Mapping[str, Any],
    ):
        self.store = store
        self._types: Dict[str, int] = {}
        self.pipeline = self._context(PIPELINE_CONTEXT, pipeline_name, {})
        self.run = self._context(
            RUN_CONTEXT,
            run_id,
            {
                "namespace": pb.Value(string_value=NAMESPACE),
                "resource_name": pb.Value(string_value="run-resource"),  # as KFP writes it
                "pipeline_root": pb.Value(string_value=run_root),
                "store_session_info": pb.Value(string_value=STORE_SESSION_INFO),
            },
        )
        store.put_parent_contexts(
            [pb.ParentContext(child_id=self.run.id, parent_id=self.pipeline.id)]
        )
        self.dag = self._execution(DAG_EXECUTION, "", parameter_values, name=f"run/{run_id}")
        self.dag.id = store.put_execution(self.dag, [], [self.pipeline, self.run])[0]

    def _context(self, type_name: str, name: str, properties: Mapping[str, pb.Value]):
        existing = self.store.get_context_by_type_and_name(type_name, name)
        if existing is not None:
            return existing
        type_id = self.store.put_context_type(pb.ContextType(name=type_name))
        context = pb.Context(type_id=type_id, name=name)
        for key, value in properties.items():
            context.custom_properties[key].CopyFrom(value)
        context.id = self.store.put_contexts([context])[0]
        return context

    def _execution(self, type_name, task_name, parameter_values, name="") -> pb.Execution:
        if type_name not in self._types:
            self._types[type_name] = self.store.put_execution_type(pb.ExecutionType(name=type_name))
        execution = pb.Execution(
            type_id=self._types[type_name], last_known_state=pb.Execution.RUNNING
        )
        if name:
            execution.name = name
        execution.custom_properties["display_name"].string_value = task_name
        execution.custom_properties["task_name"].string_value = task_name
        execution.custom_properties["inputs"].struct_value.CopyFrom(_struct(parameter_values))
        return execution

    def start(
        self,
        task_name: str,
        execution_type: str,
        parameter_values: Mapping[str, Any],
        inputs: Mapping[str, Sequence[Mapping]],
        image: str = "",
    ) -> pb.Execution:
        """A RUNNING execution of the task, with an INPUT event per input artifact."""
        execution = self._execution(execution_type, task_name, parameter_values)
        execution.custom_properties["parent_dag_id"].int_value = self.dag.id
        if execution_type == CONTAINER_EXECUTION:
            for key, value in (("image", image), ("namespace", NAMESPACE)):
                execution.custom_properties[key].string_value = value
            for key in ("pod_name", "pod_uid"):
                execution.custom_properties[key].string_value = f"local-{task_name}"
        ids = [(name, int(a["name"])) for name, artifacts in inputs.items() for a in artifacts]
        stored = {a.id: a for a in self.store.get_artifacts_by_id(sorted({i for _, i in ids}))}
        pairs = [(stored[i], _event(pb.Event.INPUT, name, i)) for name, i in ids]
        execution.id = self.store.put_execution(execution, pairs, [self.pipeline, self.run])[0]
        return execution

    def record_artifact(self, output_name: str, runtime_artifact: Mapping) -> pb.Artifact:
        """A LIVE artifact from an executor's output, as KFP's ``RecordArtifact`` writes it."""
        title = type_title(runtime_artifact["type"])
        if title not in self._types:
            self._types[title] = self.store.put_artifact_type(pb.ArtifactType(name=title))
        artifact = pb.Artifact(
            type_id=self._types[title], uri=runtime_artifact["uri"], state=pb.Artifact.LIVE
        )
        for key, value in (runtime_artifact.get("metadata") or {}).items():
            artifact.custom_properties[key].CopyFrom(to_mlmd_value(value))
        for key, value in (
            ("display_name", output_name),
            ("store_session_info", STORE_SESSION_INFO),
        ):
            if key not in artifact.custom_properties:
                artifact.custom_properties[key].string_value = value
        artifact.id = self.store.put_artifacts([artifact])[0]
        return self.store.get_artifacts_by_id([artifact.id])[0]

    def publish(
        self,
        execution: pb.Execution,
        state: int,
        outputs: Mapping[str, Sequence[pb.Artifact]] = None,
        output_parameters: Optional[Mapping[str, Any]] = None,
    ) -> None:
        """Ends the execution in ``state`` with an OUTPUT event per output artifact."""
        execution.last_known_state = state
        if output_parameters:
            execution.custom_properties["outputs"].struct_value.CopyFrom(_struct(output_parameters))
        pairs = [
            (artifact, _event(pb.Event.OUTPUT, name, artifact.id))
            for name, artifacts in (outputs or {}).items()
            for artifact in artifacts
        ]
        self.store.put_execution(execution, pairs, [self.pipeline, self.run])

    def finish(self, state: int) -> None:
        """Ends the run's root DAG execution."""
        self.dag.last_known_state = state
        self.store.put_execution(self.dag, [], [self.pipeline, self.run])

    def runtime_artifact(self, artifact: pb.Artifact, artifact_type: Mapping) -> dict:
        """The artifact as KFP's driver passes it to a downstream task."""
        metadata = {k: to_json_value(v) for k, v in artifact.properties.items()}
        metadata.update({k: to_json_value(v) for k, v in artifact.custom_properties.items()})
        return {
            "name": str(artifact.id),
            "uri": artifact.uri,
            "type": dict(artifact_type),
            "metadata": metadata,
        }

    def existing_artifact(self, uri: str, artifact_type: Mapping) -> Optional[pb.Artifact]:
        """The newest artifact of this type at ``uri``, if any: what an importer that does not
        ``reimport`` hands on, as KFP's importer does."""
        names = {t.id: t.name for t in self.store.get_artifact_types()}
        title = type_title(artifact_type)
        known = [a for a in self.store.get_artifacts_by_uri(uri) if names[a.type_id] == title]
        return max(known, key=lambda a: a.id) if known else None

    def set_fingerprint(self, execution: pb.Execution, fingerprint: str) -> None:
        """Records the task's cache key on its execution (read by later runs)."""
        execution.custom_properties[CACHE_FINGERPRINT].string_value = fingerprint

    def cached_outputs(self, fingerprint: str):
        """The newest COMPLETE execution of this pipeline with the cache key, as (its id, its
        output artifacts by name, its output parameters); None when there is none."""
        hits = [
            e
            for e in self.store.get_executions_by_context(self.pipeline.id)
            if e.last_known_state == pb.Execution.COMPLETE
            and e.custom_properties[CACHE_FINGERPRINT].string_value == fingerprint
        ]
        if not hits:
            return None
        earlier = max(hits, key=lambda e: (e.create_time_since_epoch, e.id))
        events = self.store.get_events_by_execution_ids([earlier.id])
        ids = {e.artifact_id: e.path.steps[0].key for e in events if e.type == pb.Event.OUTPUT}
        outputs: Dict[str, List[pb.Artifact]] = {}
        for artifact in self.store.get_artifacts_by_id(sorted(ids)):
            outputs.setdefault(ids[artifact.id], []).append(artifact)
        parameters = {}
        if "outputs" in earlier.custom_properties:
            parameters = json_format.MessageToDict(
                earlier.custom_properties["outputs"].struct_value
            )
        return earlier.id, outputs, parameters
