"""Ordinary architectures pass the graph check with no ``--allow-op``: batch and layer
normalization, attention, residual adds, depthwise convolutions, average pooling, resizing,
padding and concatenation are stateless ops; the only stateful ops are the weights and the
function calls. Then the gate finds how to call each one and runs it on real digits."""

import os

import pytest

from robustfx.robustness.models import graph_safety, op_policy, scores
from robustfx.robustness.models.model_interface import LOGITS, PROBABILITIES
from tests.helpers.architectures import APPLICATIONS, SMALLEST_SIDE

ARCHITECTURES = [*APPLICATIONS, "vit_block", "resize_and_pad"]

# What each architecture is there for: an op the project's own exports never use.
CHARACTERISTIC_OPS = {
    "MobileNetV2": {"DepthwiseConv2dNative", "FusedBatchNormV3", "Relu6", "Pad"},
    "ResNet50": {"FusedBatchNormV3", "AddV2", "Mean"},
    "EfficientNetB0": {"Sigmoid", "Mul", "Sqrt", "DepthwiseConv2dNative"},
    "vit_block": {"Einsum", "Erf", "GatherV2", "Softmax"},
    "resize_and_pad": {"ResizeBilinear", "MirrorPad", "Pad", "AvgPool", "ConcatV2"},
}


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_an_ordinary_architecture_passes_with_no_flag(architecture_models, name):
    report = graph_safety.check_graph(architecture_models[name])
    assert report.allowed_by_flag == ()
    assert "signature 'serving_default'" in report.entries
    assert CHARACTERISTIC_OPS[name] <= set(report.ops)
    assert set(report.stateful) == {"ReadVariableOp", "StatefulPartitionedCall", "VarHandleOp"}
    assert all(op_policy.is_allowed(op) for op in report.ops)


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_an_ordinary_architecture_is_called_on_the_digits(architecture_models, small_mnist, name):
    """Its serving_default, its input layer and its output layer, found with no flag; the
    applications' softmax heads are told from the others' logits on the first clean digits
    (28x28, resized to the applications' 32x32 as the evaluation resizes them)."""
    _, info = small_mnist
    files = os.path.join(info.directory, info.split_pattern("test"))
    model_dir = architecture_models[name]
    found = scores.interfaces_on_data(
        {"candidate": model_dir}, None, info.class_names, files, info.image_shape
    )["candidate"]
    side = SMALLEST_SIDE if name in APPLICATIONS else 28
    assert found.signature == "serving_default" and found.image_shape == (side, side, 1)
    assert found.output == (PROBABILITIES if name in APPLICATIONS else LOGITS)
