"""The graph check refuses a model that reads, writes or lists files, calls Python, prints to a
file, reads a dataset or runs an unknown op, wherever the op hides, naming the op, its category,
its function and the signature, and runs nothing."""

import logging
import os
import pickle

import pytest

from robustfx.robustness.models import graph_safety, op_policy
from robustfx.robustness.models.graph_safety import UnsafeModelError, check_graph
from robustfx.robustness.models.saved_models import ModelSignatureError, read_saved_model
from tests.helpers.hostile_models import (
    FORGED_OP,
    hostile_payloads,
    rewrite_saved_model,
    save_forged_kernel_model,
)
from tests.helpers.models import save_untrusted_model, untrusted_payloads

CATEGORIES = {
    "WriteFile": op_policy.FILE_IO,
    "ReadFile": op_policy.FILE_IO,
    "MatchingFiles": op_policy.FILE_IO,
    "EagerPyFunc": op_policy.PYTHON,
    "PrintV2": op_policy.PRINT,
    "TextLineDataset": op_policy.DATASET,
}


def _payloads(target) -> dict:
    return {**untrusted_payloads(str(target)), **hostile_payloads(str(target))}


@pytest.mark.parametrize("op", sorted(CATEGORIES))
def test_an_attacker_is_refused_by_op_category_function_and_signature(tmp_path, target, op):
    model_dir = save_untrusted_model(tmp_path / "model", _payloads(target)[op])
    with pytest.raises(UnsafeModelError) as refused:
        check_graph(model_dir)
    (finding,) = {f for f in refused.value.findings if f.op == op}
    assert finding.category == CATEGORIES[op]
    assert finding.entry == "signature 'serving_transformed'"
    library = read_saved_model(model_dir).meta_graphs[0].graph_def.library.function
    assert finding.function in {function.signature.name for function in library}
    message = str(refused.value)
    assert f"op '{op}' ({CATEGORIES[op]}) in function '{finding.function}'" in message
    assert "reached from signature 'serving_transformed'" in message
    assert f"--allow-op {op}" in message
    assert isinstance(refused.value, ModelSignatureError)  # the CLI's exit code 2
    assert sorted(os.listdir(target)) == ["secret"]  # nothing ran, nothing was written


def test_an_unknown_kernel_in_a_while_body_inside_a_cond_is_found(tmp_path):
    model_dir = save_forged_kernel_model(tmp_path / "model")
    with pytest.raises(UnsafeModelError) as refused:
        check_graph(model_dir)
    (finding,) = refused.value.findings
    assert finding.op == FORGED_OP and finding.category == op_policy.UNKNOWN
    # signature wrapper -> the traced function -> the cond branch -> the while body
    assert len(finding.path) == 4 and finding.path[-1] == finding.function
    assert "cond_true" in finding.path[2] and "while_body" in finding.function
    assert f"op '{FORGED_OP}' (unknown op, a custom kernel)" in str(refused.value)


def test_allow_op_lets_it_through_and_records_it(tmp_path, target, caplog):
    model_dir = save_untrusted_model(
        tmp_path / "model", untrusted_payloads(str(target))["WriteFile"]
    )
    with caplog.at_level(logging.WARNING):
        report = check_graph(model_dir, allowed_ops=["WriteFile"])
    assert report.allowed_by_flag == ("WriteFile",)
    assert "WriteFile" in report.ops and report.to_dict()["allowed_by_flag"] == ("WriteFile",)
    assert "WriteFile (file I/O) let through by --allow-op" in caplog.text


def test_an_allowed_op_lets_only_itself_through(tmp_path, target):
    model_dir = save_untrusted_model(
        tmp_path / "model", untrusted_payloads(str(target))["ReadFile"]
    )
    with pytest.raises(UnsafeModelError, match="op 'ReadFile'"):
        check_graph(model_dir, allowed_ops=["WriteFile"])


def test_a_refusal_crosses_a_process_boundary_intact(tmp_path, target):
    model_dir = save_untrusted_model(
        tmp_path / "model", untrusted_payloads(str(target))["ReadFile"]
    )
    with pytest.raises(UnsafeModelError) as refused:
        check_graph(model_dir)
    copy = pickle.loads(pickle.dumps(refused.value))
    assert str(copy) == str(refused.value) and copy.findings == refused.value.findings


def test_a_custom_gradient_is_walked(tmp_path, target):
    """White-box attacks differentiate through the signature, which runs its saved custom
    gradient: an op hidden there is found though the forward pass never runs it."""
    import tensorflow as tf

    written = str(target / "written_by_the_gradient")

    @tf.custom_gradient
    def sneaky(images):
        def gradient(upstream):
            with tf.control_dependencies([tf.io.write_file(written, "written")]):
                return tf.identity(upstream)

        return tf.identity(images), gradient

    @tf.function(input_signature=[tf.TensorSpec([None, 28, 28, 1], tf.float32, name="image")])
    def serve(image):
        return {"logits": tf.reshape(sneaky(image), [-1, 784])}

    model_dir = str(tmp_path / "model")
    tf.saved_model.save(tf.Module(), model_dir, signatures={"serving_transformed": serve})
    with pytest.raises(UnsafeModelError) as refused:
        check_graph(model_dir, allowed_ops=["IdentityN"])  # custom_gradient's own op
    (finding,) = refused.value.findings
    assert finding.op == "WriteFile" and "grad_fn" in finding.function
    assert not os.path.exists(written)


def test_an_op_named_by_a_call_attr_is_checked_as_an_op(tmp_path):
    """A func attr naming no library function makes the runtime run that primitive op."""

    def call_pyfunc(meta_graph):
        for function in meta_graph.graph_def.library.function:
            for node in function.node_def:
                if node.op == "StatefulPartitionedCall":
                    node.attr["f"].func.name = "PyFunc"

    model_dir = rewrite_saved_model(save_untrusted_model(tmp_path / "model"), call_pyfunc)
    with pytest.raises(UnsafeModelError, match=r"op 'PyFunc' \(Python callback\)"):
        check_graph(model_dir)


def test_the_object_graph_signatures_are_walked_not_only_the_signature_defs(tmp_path, target):
    """tf.saved_model.load calls the object graph's signature functions, whatever the
    SignatureDefs (what a model server runs) say: without them the op is still found."""
    model_dir = save_untrusted_model(
        tmp_path / "model", untrusted_payloads(str(target))["WriteFile"]
    )
    rewrite_saved_model(model_dir, lambda graph: graph.signature_def.pop("serving_transformed"))
    with pytest.raises(UnsafeModelError, match="op 'WriteFile'") as refused:
        check_graph(model_dir)
    (finding,) = refused.value.findings
    assert finding.entry == "signature 'serving_transformed'"
    assert finding.path[0] != graph_safety.MAIN_GRAPH  # found through the object graph


def test_a_tensorflow_1_savedmodel_is_refused(tmp_path):
    model_dir = rewrite_saved_model(
        save_untrusted_model(tmp_path / "model"), lambda graph: graph.ClearField("object_graph_def")
    )
    with pytest.raises(UnsafeModelError, match="TensorFlow 1 SavedModel"):
        check_graph(model_dir)


def test_a_file_that_is_not_a_savedmodel_is_a_model_error(tmp_path):
    (tmp_path / "saved_model.pb").write_bytes(b"not a SavedModel")
    with pytest.raises(ModelSignatureError, match="is not a SavedModel"):
        check_graph(str(tmp_path))


def test_a_plain_model_reports_what_it_read(tmp_path):
    report = check_graph(save_untrusted_model(tmp_path / "model"))
    assert "signature 'serving_transformed'" in report.entries
    assert {"MatMul", "Reshape", "ReadVariableOp"} <= set(report.ops)
    assert set(report.stateful) == {"ReadVariableOp", "StatefulPartitionedCall", "VarHandleOp"}
    assert report.allowed_by_flag == () and report.functions >= 2
    assert graph_safety.MAIN_GRAPH not in report.to_dict()["entries"]
