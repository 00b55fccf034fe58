"""The ML Metadata queries every reader shares, on a small store shaped as TFX records runs:
a ``pipeline`` context, a ``pipeline_run`` context per run (its child), a ``node`` context per
node, and OUTPUT events keyed by the output name."""

import json

import pytest
from ml_metadata.proto import metadata_store_pb2 as pb

from robustfx.components.robustness_evaluator import spec as evaluator_spec
from robustfx.pipeline import mlmd
from robustfx.pipeline.production import PUSHER_ID, ROBUSTNESS_EVALUATOR_ID


class _Store:
    """Writes TFX-shaped records into a fresh SQLite store."""

    def __init__(self, path):
        self.store = mlmd.open_store(str(path), create=True)
        self.types = {}

    def _type(self, put, message, name):
        if name not in self.types:
            self.types[name] = put(message(name=name))
        return self.types[name]

    def context(self, kind, name):
        type_id = self._type(self.store.put_context_type, pb.ContextType, kind)
        existing = self.store.get_context_by_type_and_name(kind, name)
        if existing is not None:
            return existing
        (context_id,) = self.store.put_contexts([pb.Context(type_id=type_id, name=name)])
        return self.store.get_contexts_by_id([context_id])[0]

    def run(self, pipeline, run_id):
        parent, run = self.context("pipeline", pipeline), self.context("pipeline_run", run_id)
        self.store.put_parent_contexts([pb.ParentContext(child_id=run.id, parent_id=parent.id)])
        return run

    def execution(self, pipeline, run, node, outputs):
        """One execution of ``node`` in ``run``; ``outputs``: key -> [(uri, int props)]."""
        execution = pb.Execution(
            type_id=self._type(self.store.put_execution_type, pb.ExecutionType, node)
        )
        artifact_type = self._type(self.store.put_artifact_type, pb.ArtifactType, "Artifact")
        pairs = []
        for key, artifacts in outputs.items():
            for uri, properties in artifacts:
                artifact = pb.Artifact(type_id=artifact_type, uri=uri)
                for name, value in properties.items():
                    if isinstance(value, str):
                        artifact.custom_properties[name].string_value = value
                    else:
                        artifact.custom_properties[name].int_value = value
                event = pb.Event(type=pb.Event.OUTPUT)
                event.path.steps.add().key = key
                pairs.append((artifact, event))
        node_context = self.context("node", f"{pipeline}.{node}")
        return self.store.put_execution(execution, pairs, [run, node_context])[0]


@pytest.fixture
def records(tmp_path):
    """Two runs of pipeline 'p' (the second evaluated, with a report) and one of 'q'."""
    records = _Store(tmp_path / "metadata.sqlite")
    evaluation = tmp_path / "evaluation"
    evaluation.mkdir()
    (evaluation / evaluator_spec.METRICS_FILE).write_text(json.dumps({"blessed": 1}))
    first = records.run("p", "run-1")
    records.execution("p", first, PUSHER_ID, {"pushed_model": [("old", {"pushed": 1})]})
    records.execution("q", records.run("q", "run-q"), PUSHER_ID, {"pushed_model": [("q", {})]})
    second = records.run("p", "run-2")
    records.execution("p", second, PUSHER_ID, {"pushed_model": [("new", {"pushed": 0})]})
    records.execution(
        "p",
        second,
        ROBUSTNESS_EVALUATOR_ID,
        {
            evaluator_spec.EVALUATION_KEY: [(str(evaluation), {"report": "r.html"})],
            evaluator_spec.BLESSING_KEY: [("blessing", {"blessed": 1})],
        },
    )
    return records.store


def test_node_outputs_reads_the_latest_run_only_and_by_output_key(records):
    (pushed,) = mlmd.node_outputs(records, "p", PUSHER_ID, "pushed_model")
    assert pushed.uri == "new" and mlmd.int_property(pushed, "pushed") == 0
    (blessing,) = mlmd.node_outputs(
        records, "p", ROBUSTNESS_EVALUATOR_ID, evaluator_spec.BLESSING_KEY
    )
    assert blessing.uri == "blessing"
    assert mlmd.node_outputs(records, "p", "Trainer", "model") == []


def test_all_node_outputs_reads_every_run_of_every_pipeline(records):
    pushed = mlmd.all_node_outputs(records, PUSHER_ID, "pushed_model")
    assert [artifact.uri for artifact in pushed] == ["old", "q", "new"]


def test_runs_are_newest_first_with_their_pipeline(records):
    runs = [(run.name, pipeline) for run, pipeline in mlmd.pipeline_runs(records)]
    assert runs == [("run-2", "p"), ("run-q", "q"), ("run-1", "p")]
    by_node = mlmd.executions_by_node(records)
    assert set(by_node) == {PUSHER_ID, ROBUSTNESS_EVALUATOR_ID}
    assert len(by_node[PUSHER_ID]) == 3  # one node ID across pipelines 'p' and 'q'


def test_latest_evaluation_reads_metrics_and_report(records):
    evaluation, metrics = mlmd.latest_evaluation(records, "p", ROBUSTNESS_EVALUATOR_ID)
    assert metrics == {"blessed": 1}
    assert mlmd.report_path(evaluation) == "r.html"
    assert mlmd.latest_evaluation(records, "q", ROBUSTNESS_EVALUATOR_ID) is None


def test_int_property_is_none_when_missing_or_of_another_kind(records):
    (evaluation, _) = mlmd.latest_evaluation(records, "p", ROBUSTNESS_EVALUATOR_ID)
    assert mlmd.int_property(evaluation, "pushed") is None
    assert mlmd.int_property(evaluation, "report") is None


def test_a_reader_never_creates_a_store(tmp_path):
    missing = tmp_path / "none" / "metadata.sqlite"
    with pytest.raises(FileNotFoundError, match="no ML Metadata store at .*metadata.sqlite"):
        mlmd.open_store(str(missing))
    assert not missing.parent.exists()
