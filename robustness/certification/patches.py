"""CROWN's backward passes for a convolution's neurons, in patches.

A convolution's neuron depends on a window of each earlier layer (its receptive field), so
its coefficients are zero everywhere else. Patches keep only that window: for each output
position (i, j) of the bounded convolution and each of its channels, the coefficients on
a window of the current node that starts at ``position * step + offset`` on each side
(auto_LiRPA calls this patches mode; Xu et al. 2020). On the default CNN the second
convolution's coefficients at the first convolution's output shrink from 26 x 26 x 32
floats per neuron to 6 x 6 x 32.

Patches go back through convolutions, ReLUs, non-overlapping max-pooling and per-channel
scales; the window grows with each convolution and pooling. Coefficients outside a node's
image are kept at zero (they would multiply padding). At any other operation the patches are
laid out over the whole node and the pass continues as ``crown.backward_lower``.
"""

import dataclasses
from typing import Tuple

import tensorflow as tf

from robustfx.robustness.certification import operations as ops
from robustfx.robustness.certification.input_set import InputSet
from robustfx.robustness.certification.operations import leading_padding
from robustfx.robustness.certification.relaxations import (
    max_pool_maps,
    max_pool_step,
    relu_slopes,
    relu_step,
)

PATCH_AXES = [4, 5, 6]  # coefficients are [batch, rows, columns, channels, *window]


@dataclasses.dataclass(frozen=True)
class Grid:
    """Where each position's window lies on the current node."""

    positions: Tuple[int, int]  # the bounded convolution's output rows and columns
    step: Tuple[int, int]
    offset: Tuple[int, int]
    size: Tuple[int, int]  # the window's rows and columns

    def extract(self, maps: tf.Tensor) -> tf.Tensor:
        """Each position's window of ``maps`` [batch, height, width, channels] (zeros outside
        the map): [batch, rows, columns, 1, *size, channels]."""
        pads, starts, spans = [], [], []
        for axis in (0, 1):
            side = int(maps.shape[1 + axis])
            span = (self.positions[axis] - 1) * self.step[axis] + self.size[axis]
            before = max(0, -self.offset[axis])
            after = max(0, self.offset[axis] + span - side)
            pads.append([before, after])
            starts.append(self.offset[axis] + before)
            spans.append(span)
        padded = tf.pad(maps, [[0, 0], *pads, [0, 0]])
        window = padded[:, starts[0] : starts[0] + spans[0], starts[1] : starts[1] + spans[1]]
        patches = tf.image.extract_patches(
            window, [1, *self.size, 1], [1, *self.step, 1], [1, 1, 1, 1], "VALID"
        )
        return tf.reshape(patches, [-1, *self.positions, 1, *self.size, int(maps.shape[3])])

    def inside(self, shape) -> tf.Tensor:
        """1 where a window lies on a node of ``shape`` (height, width, channels), else 0."""
        return self.extract(tf.ones([1, shape[0], shape[1], 1]))

    def grown(self, stride: Tuple[int, int], padding: Tuple[int, int], size) -> "Grid":
        """The grid one layer back through a stride and its leading padding."""
        return Grid(
            self.positions,
            tuple(step * s for step, s in zip(self.step, stride, strict=True)),
            tuple(o * s - p for o, s, p in zip(self.offset, stride, padding, strict=True)),
            tuple(size),
        )

    def to_dense(self, lam: tf.Tensor, shape) -> tf.Tensor:
        """The coefficients laid out over the whole node: [batch, positions x channels,
        *shape], rows in the bounded node's order (row, column, channel)."""
        rows = []
        for axis in (0, 1):
            starts = tf.range(self.positions[axis]) * self.step[axis] + self.offset[axis]
            rows.append(tf.one_hot(starts[:, None] + tf.range(self.size[axis])[None], shape[axis]))
        dense = tf.einsum("bijoaxc,iah->bijohxc", lam, rows[0])
        dense = tf.einsum("bijohxc,jxw->bijohwc", dense, rows[1])
        return tf.reshape(dense, [tf.shape(lam)[0], -1, *shape])


def window_back(op, size: Tuple[int, int]) -> Tuple[int, int]:
    """The window one operation back: convolutions and poolings widen it."""
    if isinstance(op, ops.Conv):
        kernel = (int(side) for side in op.kernel.shape[:2])
        return tuple((n - 1) * s + k for n, s, k in zip(size, op.strides, kernel, strict=True))
    if isinstance(op, ops.MaxPool):
        return tuple(n * q for n, q in zip(size, op.pool, strict=True))
    return tuple(size)


def _sum(values: tf.Tensor) -> tf.Tensor:
    return tf.reduce_sum(values, axis=PATCH_AXES)


def _conv(op: ops.Conv, lam: tf.Tensor, grid: Grid, shape):
    kernel_h, kernel_w, _, out_channels = (int(side) for side in op.kernel.shape)
    constant = None if op.bias is None else _sum(lam * op.bias)
    size = [
        (n - 1) * s + k for n, s, k in zip(grid.size, op.strides, (kernel_h, kernel_w), strict=True)
    ]
    flat = tf.reshape(lam, [-1, *grid.size, out_channels])
    out_shape = tf.stack([tf.shape(flat)[0], size[0], size[1], shape[2]])
    back = tf.nn.conv2d_transpose(flat, op.kernel, out_shape, op.strides, "VALID")
    padding = [
        leading_padding(shape[a], k, op.strides[a], op.padding)
        for a, k in ((0, kernel_h), (1, kernel_w))
    ]
    grid = grid.grown(op.strides, padding, size)
    lam = tf.reshape(back, [tf.shape(lam)[0], *lam.shape[1:4], *size, shape[2]])
    return lam * grid.inside(shape), grid, constant


def _max_pool(op: ops.MaxPool, lam: tf.Tensor, grid: Grid, bounds, shape):
    _, chosen, decided, pooled_upper = max_pool_maps(op, *bounds)
    decided = grid.extract(tf.cast(decided, lam.dtype))
    coefficients, constant = max_pool_step(lam, decided, grid.extract(pooled_upper), keep=4)
    padding = [leading_padding(shape[a], op.pool[a], op.strides[a], op.padding) for a in (0, 1)]
    grid = grid.grown(op.pool, padding, window_back(op, grid.size))
    # Each pooled coefficient goes to every pixel of its window, then to the chosen one only.
    (rows, cols), (pool_h, pool_w), channels = coefficients.shape[4:6], op.pool, shape[2]
    blocks = tf.reshape(coefficients, [-1, rows, 1, cols, 1, channels])
    blocks = tf.broadcast_to(blocks, [tf.shape(blocks)[0], rows, pool_h, cols, pool_w, channels])
    lead = [-1, *grid.positions, lam.shape[3]]
    spread = tf.reshape(blocks, [*lead, *grid.size, channels])
    return spread * grid.extract(tf.cast(chosen, lam.dtype)), grid, constant


def follows(op) -> bool:
    """Whether patches go back through ``op``."""
    if isinstance(op, ops.MaxPool):
        return tuple(op.strides) == tuple(op.pool)  # windows that tile the image
    return isinstance(op, (ops.Conv, ops.ReLU, ops.Scale))


def step(network, index: int, lam: tf.Tensor, grid: Grid, bounds):
    """One operation back: (coefficients on its input, grid there, constant or None)."""
    node = network.nodes[index]
    source = node.inputs[0]
    shape = network.nodes[source].shape
    if isinstance(node.op, ops.ReLU):
        slopes = [grid.extract(side) for side in relu_slopes(*bounds[source])]
        lam, constant = relu_step(lam, *slopes, keep=4)
        return lam, grid, constant
    if isinstance(node.op, ops.MaxPool):
        return _max_pool(node.op, lam, grid, bounds[source], shape)
    if isinstance(node.op, ops.Scale):
        return lam * node.op.scale, grid, _sum(lam * node.op.shift)
    return _conv(node.op, lam, grid, shape)


def concretize(lam: tf.Tensor, grid: Grid, inputs: InputSet) -> tf.Tensor:
    """The minimum of each position's windowed ``lam . x`` over the input set: [batch,
    rows, columns, channels]."""
    lower, upper = inputs.box
    center, radius = grid.extract((lower + upper) / 2), grid.extract((upper - lower) / 2)
    best = _sum(lam * center) - _sum(tf.abs(lam) * radius)
    if inputs.norm == "l2":
        norms = tf.sqrt(_sum(tf.square(lam)))
        best = tf.maximum(best, _sum(lam * grid.extract(inputs.images)) - inputs.epsilon * norms)
    return best


def start(op: ops.Conv, channels: tf.Tensor, positions, input_shape):
    """The coefficients of a convolution's neurons on its input, for its ``channels`` at
    every position: (coefficients [1, rows, columns, channels, kh, kw, in], grid, bias
    [1, 1, 1, channels])."""
    kernel_h, kernel_w = (int(side) for side in op.kernel.shape[:2])
    padding = [
        leading_padding(input_shape[a], k, op.strides[a], op.padding)
        for a, k in ((0, kernel_h), (1, kernel_w))
    ]
    grid = Grid(
        tuple(positions), tuple(op.strides), tuple(-p for p in padding), (kernel_h, kernel_w)
    )
    kernel = tf.transpose(tf.gather(op.kernel, channels, axis=3), [3, 0, 1, 2])
    lam = kernel[None, None, None] * grid.inside(input_shape)
    bias = tf.zeros_like(channels, tf.float32) if op.bias is None else tf.gather(op.bias, channels)
    return lam, grid, bias[None, None, None]
