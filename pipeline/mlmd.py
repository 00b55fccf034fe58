"""ML Metadata access for every reader of the pipeline's records, in one place.

TFX records each execution under a ``node`` context named ``<pipeline>.<node id>`` and a
``pipeline_run`` context per run (whose parent is the ``pipeline`` context); an execution's
OUTPUT events are keyed by the output name. The run summary, ``robustfx history``,
``compare`` and ``gate`` all read through these queries, and ``kfp run-local`` opens its
store here too, so each question about the records is answered the same way everywhere.
"""

import json
import os
from typing import Dict, Iterable, List, Optional, Set, Tuple

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2
from tfx.utils import io_utils

from robustfx.components.robustness_evaluator import spec as evaluator_spec

_OUTPUT_EVENTS = (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)


def open_store(path: str, create: bool = False) -> metadata_store.MetadataStore:
    """The SQLite store at ``path``.

    Args:
      path: the store's file.
      create: create the store when missing (a run that records); readers leave it False.

    Raises:
      FileNotFoundError: ``path`` does not exist and ``create`` is False, so a reader never
        sees a fresh empty store where it expected a pipeline's records.
    """
    if not create and not os.path.isfile(path):
        raise FileNotFoundError(f"no ML Metadata store at {path}")
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = path
    config.sqlite.connection_mode = (
        metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    )
    return metadata_store.MetadataStore(config)


def output_artifacts(
    store: metadata_store.MetadataStore, execution_ids: Iterable[int], output_key: str
) -> List[metadata_store_pb2.Artifact]:
    """The artifacts the executions output under ``output_key``, oldest first."""
    artifact_ids = {
        event.artifact_id
        for event in store.get_events_by_execution_ids(sorted(execution_ids))
        if event.type in _OUTPUT_EVENTS
        and event.path.steps
        and event.path.steps[0].key == output_key
    }
    return store.get_artifacts_by_id(sorted(artifact_ids)) if artifact_ids else []


def node_outputs(
    store: metadata_store.MetadataStore, pipeline_name: str, node_id: str, output_key: str
) -> List[metadata_store_pb2.Artifact]:
    """Output artifacts of ``node_id`` in the pipeline's latest run, oldest first."""
    runs = store.get_contexts_by_type("pipeline_run")
    node = store.get_context_by_type_and_name("node", f"{pipeline_name}.{node_id}")
    if not runs or node is None:
        return []
    latest = max(runs, key=lambda context: (context.create_time_since_epoch, context.id))
    in_run = {execution.id for execution in store.get_executions_by_context(latest.id)}
    of_node = {execution.id for execution in store.get_executions_by_context(node.id)}
    return output_artifacts(store, sorted(in_run & of_node), output_key)


def all_node_outputs(
    store: metadata_store.MetadataStore, node_id: str, output_key: str
) -> List[metadata_store_pb2.Artifact]:
    """Output artifacts of ``node_id`` across every run and pipeline in the store."""
    execution_ids = [
        execution.id
        for context in store.get_contexts_by_type("node")
        if context.name.rsplit(".", 1)[-1] == node_id
        for execution in store.get_executions_by_context(context.id)
    ]
    return output_artifacts(store, execution_ids, output_key) if execution_ids else []


def executions_by_node(store: metadata_store.MetadataStore) -> Dict[str, Set[int]]:
    """Node ID -> ids of every execution of that node in any pipeline, read once for all
    runs."""
    by_node: Dict[str, Set[int]] = {}
    for context in store.get_contexts_by_type("node"):
        ids = {execution.id for execution in store.get_executions_by_context(context.id)}
        by_node.setdefault(context.name.rsplit(".", 1)[-1], set()).update(ids)
    return by_node


def pipeline_runs(
    store: metadata_store.MetadataStore,
) -> List[Tuple[metadata_store_pb2.Context, str]]:
    """Every run's context with its pipeline's name ('' when it has none), newest first."""
    pipelines = {c.id: c.name for c in store.get_contexts_by_type("pipeline")}
    runs = sorted(
        store.get_contexts_by_type("pipeline_run"),
        key=lambda run: (run.create_time_since_epoch, run.id),
        reverse=True,
    )
    named = []
    for run in runs:
        parents = store.get_parent_contexts_by_context(run.id)
        named.append((run, next((pipelines[p.id] for p in parents if p.id in pipelines), "")))
    return named


def int_property(artifact: metadata_store_pb2.Artifact, key: str) -> Optional[int]:
    """The artifact's int custom property ``key``; None when missing or of another kind."""
    if key not in artifact.custom_properties:
        return None
    value = artifact.custom_properties[key]
    return value.int_value if value.HasField("int_value") else None


def latest_evaluation(
    store: metadata_store.MetadataStore, pipeline_name: str, evaluator_id: str
) -> Optional[Tuple[metadata_store_pb2.Artifact, dict]]:
    """(evaluation artifact, its metrics.json) of ``evaluator_id`` in the latest run."""
    evaluations = node_outputs(store, pipeline_name, evaluator_id, evaluator_spec.EVALUATION_KEY)
    if not evaluations:
        return None
    return evaluations[-1], evaluation_metrics(evaluations[-1])


def evaluation_metrics(evaluation: metadata_store_pb2.Artifact) -> dict:
    """The ``metrics.json`` a RobustnessEvaluator wrote into its evaluation artifact."""
    path = os.path.join(evaluation.uri, evaluator_spec.METRICS_FILE)
    return json.loads(io_utils.read_string_file(path))


def report_path(evaluation: metadata_store_pb2.Artifact) -> Optional[str]:
    """The HTML report the RobustnessEvaluator recorded on its evaluation artifact."""
    return evaluation.custom_properties["report"].string_value or None
