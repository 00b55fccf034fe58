"""Ordinary architectures pass the graph check with no ``--allow-op``: batch and layer
normalization, attention, residual adds, depthwise convolutions, average pooling, resizing,
padding and concatenation are stateless ops; the only stateful ops are the weights and the
function calls."""

import pytest

from robustfx.robustness.models import graph_safety, op_policy
from tests.helpers.architectures import APPLICATIONS

# What each architecture is there for: an op the project's own exports never use.
CHARACTERISTIC_OPS = {
    "MobileNetV2": {"DepthwiseConv2dNative", "FusedBatchNormV3", "Relu6", "Pad"},
    "ResNet50": {"FusedBatchNormV3", "AddV2", "Mean"},
    "EfficientNetB0": {"Sigmoid", "Mul", "Sqrt", "DepthwiseConv2dNative"},
    "vit_block": {"Einsum", "Erf", "GatherV2", "Softmax"},
    "resize_and_pad": {"ResizeBilinear", "MirrorPad", "Pad", "AvgPool", "ConcatV2"},
}


@pytest.mark.parametrize("name", [*APPLICATIONS, "vit_block", "resize_and_pad"])
def test_an_ordinary_architecture_passes_with_no_flag(architecture_models, name):
    report = graph_safety.check_graph(architecture_models[name])
    assert report.allowed_by_flag == ()
    assert "signature 'serving_default'" in report.entries
    assert CHARACTERISTIC_OPS[name] <= set(report.ops)
    assert set(report.stateful) == {"ReadVariableOp", "StatefulPartitionedCall", "VarHandleOp"}
    assert all(op_policy.is_allowed(op) for op in report.ops)
