"""Resolver filters, parsed and evaluated against hand-made ML Metadata records in a temporary
SQLite store, written the way `kfp run-local` records a run (no pipeline runs here)."""

import time

import pytest
from ml_metadata.proto import metadata_store_pb2 as pb

from robustfx.kubeflow import artifact_filter as F
from robustfx.kubeflow.local_metadata import RunRecords
from robustfx.pipeline.mlmd import open_store

# The compiled baseline queries (see kubeflow/compile.py and the e2e test).
BLESSING_FILTER = (
    'schema_title="tfx.ModelBlessing" AND state=LIVE AND metadata.blessed.number_value=1'
    " AND metadata.robustness_blessed.number_value=1"
)
MODEL_FILTER = (
    'schema_title="tfx.Model" AND state=LIVE AND '
    "uri=\"{{$.inputs.artifacts['input'].metadata['current_model']}}\""
)
BLESSING = "title: tfx.ModelBlessing\ntype: object\n"
MODEL = "title: tfx.Model\ntype: object\n"


@pytest.fixture
def records(tmp_path):
    store = open_store(str(tmp_path / "metadata.sqlite"), create=True)
    return RunRecords(store, "robustfx-test", "run-1", str(tmp_path / "run-1"), {})


def _blessing(records, uri, **metadata):
    time.sleep(0.002)  # distinct create times
    artifact = {"uri": uri, "type": {"instanceSchema": BLESSING}, "metadata": metadata}
    return records.record_artifact("blessing", artifact)


def _resolve(records, text, inputs=None):
    clauses = F.fill_placeholders(F.parse_filter(text), inputs or {})
    if clauses is None:
        return None
    return F.newest_matching(clauses, records.pipeline_artifacts(F.schema_title_of(clauses)))


def _attributed(records, *artifacts):
    """Artifacts become the pipeline's when an execution outputs them (as KFP publishes)."""
    execution = records.start("RobustnessEvaluator", "system.ContainerExecution", {}, {})
    records.publish(execution, pb.Execution.COMPLETE, {"blessing": list(artifacts)})


def test_parse_the_compiled_blessing_filter():
    clauses = F.parse_filter(BLESSING_FILTER)
    assert [(c.field, c.key, c.value) for c in clauses] == [
        ("schema_title", "", "tfx.ModelBlessing"),
        ("state", "", "LIVE"),
        ("number_value", "blessed", 1.0),
        ("number_value", "robustness_blessed", 1.0),
    ]
    quoted = F.parse_filter('uri="gs://b/a AND b" AND metadata.k.string_value="x\\"y"')
    assert [c.value for c in quoted] == ["gs://b/a AND b", 'x"y']


@pytest.mark.parametrize(
    "text, named",
    [
        ("metadata.blessed.number_value>0", "metadata.blessed.number_value>0"),
        ('create_time>"2024-01-01"', 'create_time>"2024-01-01"'),
        ("state=LIVE OR state=DELETED", "state=LIVE OR state=DELETED"),
        ('in_context("x")', 'in_context("x")'),
        ("metadata.blessed.int_value=1", "metadata.blessed.int_value=1"),
        ("state=ALIVE", "state=ALIVE"),
        ("NOT state=LIVE", "NOT state=LIVE"),
    ],
)
def test_an_unsupported_clause_is_an_error_naming_it(text, named):
    with pytest.raises(F.FilterError, match="unsupported clause") as error:
        F.parse_filter('schema_title="tfx.Model" AND ' + text)
    assert repr(named) in str(error.value)


def test_live_blessings_of_the_robustness_evaluator_only(records):
    robust = _blessing(records, "/b/robust", blessed=1, robustness_blessed=1)
    tfma = _blessing(records, "/b/tfma", blessed=1)  # TFMA's: blessed without robustness_blessed
    refused = _blessing(records, "/b/refused", blessed=0, robustness_blessed=0)
    _attributed(records, robust, tfma, refused)
    assert _resolve(records, BLESSING_FILTER).uri == "/b/robust"
    # Not LIVE any more: nothing qualifies; an empty result means no baseline.
    robust.state = pb.Artifact.MARKED_FOR_DELETION
    records.store.put_artifacts([robust])
    assert _resolve(records, BLESSING_FILTER) is None


def test_the_newest_of_two_matching_blessings_wins(records):
    older = _blessing(records, "/b/older", blessed=1, robustness_blessed=1)
    newer = _blessing(records, "/b/newer", blessed=1, robustness_blessed=1)
    _attributed(records, older, newer)
    assert newer.create_time_since_epoch > older.create_time_since_epoch
    assert _resolve(records, BLESSING_FILTER).uri == "/b/newer"
    # Create time decides, not the id.
    base = dict(schema_title="t", state="LIVE", uri="", name="", metadata={})
    first = F.ArtifactRecord(id=1, create_time=20, **base)
    second = F.ArtifactRecord(id=2, create_time=10, **base)
    assert F.newest_matching(F.parse_filter("state=LIVE"), [first, second]) is first


def test_artifacts_of_another_pipeline_are_not_seen(records, tmp_path):
    other = RunRecords(records.store, "another-pipeline", "run-9", str(tmp_path / "o"), {})
    theirs = _blessing(other, "/b/theirs", blessed=1, robustness_blessed=1)
    _attributed(other, theirs)
    assert _resolve(records, BLESSING_FILTER) is None


def test_the_model_query_fills_its_placeholder_from_the_resolved_blessing(records):
    model = records.record_artifact("model", {"uri": "/m/1", "type": {"instanceSchema": MODEL}})
    other = records.record_artifact("model", {"uri": "/m/2", "type": {"instanceSchema": MODEL}})
    _attributed(records, model, other)
    blessing = {"name": "7", "uri": "/b", "metadata": {"current_model": "/m/1"}}
    assert _resolve(records, MODEL_FILTER, {"input": [blessing]}).id == model.id
    # No blessing resolved upstream: the query resolves nothing.
    assert _resolve(records, MODEL_FILTER, {"input": []}) is None
    with pytest.raises(F.FilterError, match="has no metadata 'current_model'"):
        _resolve(records, MODEL_FILTER, {"input": [{"name": "7", "metadata": {}}]})


def test_values_as_kfp_writes_them_into_placeholders():
    assert F.value_text(17.0) == "17"
    assert F.value_text(0.25) == "0.25"
    assert F.value_text(True) == "true"
    assert F.value_text("a") == "a"
