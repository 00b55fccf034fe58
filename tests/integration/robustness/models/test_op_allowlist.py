"""The allowlist is the project's own exports: all three signatures, Transform's graph
included, pass with no extra op, and the list holds nothing those exports do not use."""

import time

import pytest

from robustfx.base import keys
from robustfx.robustness.models import graph_safety, op_allowlist
from robustfx.robustness.models.saved_models import read_saved_model

# Call and control-flow ops whose twin the exports use; TensorFlow picks the name by
# whether the body is stateful, so a model may hold either.
TWINS = {"PartitionedCall", "StatelessIf", "StatelessWhile"}
SIGNATURES = (keys.SERVING_SIGNATURE, keys.TRANSFORMED_SIGNATURE, keys.ACTIVATIONS_SIGNATURE)


def _ops_by_entry(model_dir):
    sites = graph_safety.reachable_sites(read_saved_model(model_dir))
    return {entry: {site.op for site in found} for entry, found in sites.items()}


def test_every_export_passes_with_no_extra_op(project_exports):
    for model_dir in project_exports.values():
        report = graph_safety.check_graph(model_dir)
        assert report.allowed_by_flag == ()
        assert {f"signature '{name}'" for name in SIGNATURES} <= set(report.entries)


def test_serving_default_is_walked_into_transforms_graph(project_exports):
    for model_dir in project_exports.values():
        ops = _ops_by_entry(model_dir)[f"signature '{keys.SERVING_SIGNATURE}'"]
        # Parsing, decoding and tf.map_fn's loop live in Transform's nested functions.
        assert {"ParseExampleV2", "DecodeImage", "While", "Assert", "Conv2D"} <= ops
    resized = _ops_by_entry(project_exports["rgb_jpeg_resized"])
    assert "ResizeBilinear" in resized[f"signature '{keys.SERVING_SIGNATURE}'"]


def test_the_allowlist_is_exactly_what_the_exports_use(project_exports):
    used = set()
    for model_dir in project_exports.values():
        for ops in _ops_by_entry(model_dir).values():
            used |= ops
    assert used | TWINS == set(op_allowlist.ALLOWED_OPS), (
        f"unused: {sorted(set(op_allowlist.ALLOWED_OPS) - used - TWINS)}, "
        f"missing: {sorted(used - set(op_allowlist.ALLOWED_OPS))}"
    )


def test_the_savers_io_is_in_the_library_but_not_reached(project_exports):
    """tf.saved_model.load restores variables with its own ops; the file's save and restore
    functions are never called, so they are not checked (and would be refused)."""
    model_dir = project_exports["mnist_png"]
    library = read_saved_model(model_dir).meta_graphs[0].graph_def.library
    library_ops = {node.op for function in library.function for node in function.node_def}
    assert {"SaveV2", "RestoreV2", "MergeV2Checkpoints"} <= library_ops
    reached = set().union(*_ops_by_entry(model_dir).values())
    assert not reached & {"SaveV2", "RestoreV2", "MergeV2Checkpoints"}


def test_the_check_takes_well_under_a_second(project_exports):
    model_dir = project_exports["mnist_png"]
    graph_safety.check_graph(model_dir)  # TensorFlow's import is not the check's cost
    start = time.perf_counter()
    report = graph_safety.check_graph(model_dir)
    assert time.perf_counter() - start < 1.0 and report.seconds < 1.0


@pytest.mark.parametrize(
    "op, category",
    [
        ("WriteFile", "file system"),
        ("ReadFile", "file system"),
        ("MatchingFiles", "file system"),
        ("TFRecordReaderV2", "file system"),
        ("CreateSummaryFileWriter", "file system"),
        ("RestoreV2", "save or restore"),
        ("MergeV2Checkpoints", "save or restore"),
        ("PyFunc", "python callback"),
        ("EagerPyFunc", "python callback"),
        ("PrintV2", "print or log"),
        ("WriteScalarSummary", "print or log"),
        ("RemoteCall", "network"),
        ("Cumsum", "unknown op"),
        ("MyCustomOp", "unknown op"),
        ("Conv2D", "allowed"),
    ],
)
def test_refused_ops_are_named_by_category(op, category):
    assert op_allowlist.category(op) == category
