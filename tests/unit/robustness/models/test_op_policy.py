"""The graph check's rule is what an op can do: TensorFlow's registry says which ops are
stateful; the stateless ops that still reach outside the call, and every stateful op that
inference does not need, are refused by category; an op the registry does not know is refused
as a custom kernel."""

import pytest

from robustfx.robustness.models import op_policy


@pytest.mark.parametrize(
    "op, category",
    [
        # Ordinary layers: none of these is in the project's own exports.
        ("FusedBatchNormV3", op_policy.ALLOWED),
        ("Mean", op_policy.ALLOWED),
        ("Mul", op_policy.ALLOWED),
        ("Einsum", op_policy.ALLOWED),
        ("MirrorPad", op_policy.ALLOWED),
        ("StatelessRandomUniformV2", op_policy.ALLOWED),  # a function of its seed input
        # Stateful, and inference needs them.
        ("ReadVariableOp", op_policy.ALLOWED),
        ("StatefulPartitionedCall", op_policy.ALLOWED),
        ("While", op_policy.ALLOWED),
        # Refused, stateless or not.
        ("WriteFile", op_policy.FILE_IO),
        ("ReadFile", op_policy.FILE_IO),  # stateless
        ("MatchingFiles", op_policy.FILE_IO),  # stateless
        ("ImmutableConst", op_policy.FILE_IO),  # stateless: maps a file into memory
        ("RestoreV2", op_policy.FILE_IO),
        ("InitializeTableFromTextFileV2", op_policy.FILE_IO),
        ("PyFunc", op_policy.PYTHON),
        ("EagerPyFunc", op_policy.PYTHON),
        ("PyFuncStateless", op_policy.PYTHON),  # stateless
        ("PrintV2", op_policy.PRINT),
        ("DebugIdentity", op_policy.PRINT),  # stateless: sends to its debug URLs
        ("WriteScalarSummary", op_policy.SUMMARY),
        ("CreateSummaryFileWriter", op_policy.SUMMARY),
        ("ScalarSummary", op_policy.SUMMARY),  # stateless
        ("TFRecordDatasetV2", op_policy.DATASET),
        ("TextLineDataset", op_policy.DATASET),
        ("MapDataset", op_policy.DATASET),  # stateless
        ("IteratorGetNext", op_policy.DATASET),
        ("TFRecordReaderV2", op_policy.DATASET),
        ("RemoteCall", op_policy.NETWORK),
        ("CollectiveReduceV2", op_policy.NETWORK),
        ("DataServiceDatasetV4", op_policy.NETWORK),
        ("RandomUniform", op_policy.STATE),
        ("AssignVariableOp", op_policy.STATE),
        ("MutableHashTableV2", op_policy.STATE),
        ("Timestamp", op_policy.STATE),
        ("RobustfxForgedKernel", op_policy.UNKNOWN),
    ],
)
def test_ops_are_judged_by_what_they_can_do(op, category):
    assert op_policy.category(op) == category
    assert op_policy.is_allowed(op) is (category == op_policy.ALLOWED)


def test_each_inference_op_is_stateful_and_has_a_reason():
    """Listing a stateless op would say nothing; each listed op says why it is safe."""
    for op, reason in op_policy.INFERENCE_OPS.items():
        assert op_policy.is_stateful(op) is True, op
        assert len(reason) > 20, op


def test_the_registry_decides_the_rest():
    assert op_policy.is_stateful("Conv2D") is False
    assert op_policy.is_stateful("RandomUniform") is True
    assert op_policy.is_stateful("RobustfxForgedKernel") is None
