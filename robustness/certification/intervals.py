"""Interval bound propagation (IBP; Gowal et al. 2018): per-neuron lower and upper bounds,
layer by layer, from the input set to the logits.

A linear operation maps an interval's center through itself and its radius through its
absolute weights; ReLU and max-pooling are non-decreasing, so they map the two ends. The
first linear operation on the input is bounded exactly over the input set instead
(``InputSet.affine_bounds``). The margin bound folds the specification (true class minus
each other class) into the last Dense layer, as Gowal et al. do ("elision"), which is
tighter than subtracting the logits' intervals.
"""

from typing import Callable, List, Optional, Tuple

import tensorflow as tf

from robustfx.robustness.certification import operations as ops
from robustfx.robustness.certification.input_set import InputSet
from robustfx.robustness.certification.network import Network

Interval = Tuple[tf.Tensor, tf.Tensor]
# (node, the bounds so far, the node's interval) -> a tighter sound interval for that node.
Refiner = Callable[[int, List[Interval], Interval], Interval]


def interval_step(network: Network, index: int, bounds: List[Interval], inputs: InputSet):
    """The interval of node ``index`` from the intervals of the nodes it reads."""
    node = network.nodes[index]
    op = node.op
    if isinstance(op, ops.MONOTONE):
        lower, upper = bounds[node.inputs[0]]
        return op.forward(lower), op.forward(upper)
    if node.inputs == (0,):
        return inputs.affine_bounds(op, network.input_shape)
    centers = [(bounds[i][0] + bounds[i][1]) / 2 for i in node.inputs]
    radii = [(bounds[i][1] - bounds[i][0]) / 2 for i in node.inputs]
    center, radius = op.forward(*centers), op.forward_abs(*radii)
    return center - radius, center + radius


def interval_bounds(
    network: Network, inputs: InputSet, refine: Optional[Refiner] = None
) -> List[Interval]:
    """Every node's interval over the input set; ``refine`` may tighten each as it is made."""
    bounds: List[Interval] = [inputs.box]
    for index in range(1, len(network.nodes)):
        interval = interval_step(network, index, bounds, inputs)
        if refine is not None:
            interval = refine(index, bounds, interval)
        bounds.append(interval)
    return bounds


def margin_lower_bounds(network: Network, bounds: List[Interval], labels: tf.Tensor) -> tf.Tensor:
    """Lower bounds of ``logit[label] - logit[j]`` for every class j: [batch, classes], with 0
    at the label's own column."""
    labels = tf.cast(labels, tf.int32)
    last = network.nodes[-1]
    if isinstance(last.op, ops.Dense) and len(network.nodes[last.inputs[0]].shape) == 1:
        lower, upper = bounds[last.inputs[0]]
        kernel = tf.convert_to_tensor(last.op.kernel)
        difference = tf.gather(tf.transpose(kernel), labels)[:, :, None] - kernel[None]
        center, radius = (lower + upper) / 2, (upper - lower) / 2
        margins = tf.einsum("bi,bik->bk", center, difference) - tf.einsum(
            "bi,bik->bk", radius, tf.abs(difference)
        )
        if last.op.bias is not None:
            bias = tf.convert_to_tensor(last.op.bias)
            margins += tf.gather(bias, labels)[:, None] - bias[None]
    else:
        lower, upper = bounds[-1]
        margins = tf.gather(lower, labels, batch_dims=1)[:, None] - upper
    own = tf.one_hot(labels, network.num_classes) > 0
    return tf.where(own, tf.zeros_like(margins), margins)
