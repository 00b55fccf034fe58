"""The project's own exports pass the graph check with no extra op: all three signatures,
Transform's graph included; the stateful ops they reach are the ones inference needs, and the
saver's file I/O in their library is never reached."""

import time

from robustfx.base import keys
from robustfx.robustness.models import graph_safety, op_policy
from robustfx.robustness.models.saved_models import read_saved_model

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


def test_the_stateful_ops_reached_are_inference_ops(project_exports):
    """Weights, calls, Transform's loop and its shape check: each listed with its reason."""
    stateful = set()
    for model_dir in project_exports.values():
        for ops in _ops_by_entry(model_dir).values():
            stateful |= {op for op in ops if op_policy.is_stateful(op)}
    assert stateful == {
        "Assert",
        "If",
        "ReadVariableOp",
        "StatefulPartitionedCall",
        "VarHandleOp",
        "While",
    }
    assert stateful <= set(op_policy.INFERENCE_OPS)


def test_the_savers_io_is_in_the_library_but_not_reached(project_exports):
    """tf.saved_model.load restores variables with its own ops; the file's save and restore
    functions are never called, so they are not checked (and would be refused)."""
    model_dir = project_exports["mnist_png"]
    library = read_saved_model(model_dir).meta_graphs[0].graph_def.library
    library_ops = {node.op for function in library.function for node in function.node_def}
    saver_ops = {"SaveV2", "RestoreV2", "MergeV2Checkpoints"}
    assert saver_ops <= library_ops
    assert {op_policy.category(op) for op in saver_ops} == {op_policy.FILE_IO}
    reached = set().union(*_ops_by_entry(model_dir).values())
    assert not reached & saver_ops


def test_the_check_takes_well_under_a_second(project_exports):
    model_dir = project_exports["mnist_png"]
    graph_safety.check_graph(model_dir)  # TensorFlow's import is not the check's cost
    start = time.perf_counter()
    report = graph_safety.check_graph(model_dir)
    assert time.perf_counter() - start < 1.0 and report.seconds < 1.0
