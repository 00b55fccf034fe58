"""The primitive operations a verified network is made of, each with what bounding needs.

Linear operations (``Dense``, ``Conv``, ``Scale``, ``AvgPool``, ``GlobalAvgPool``,
``Reshape``, ``Pad``, ``Add``) give their output (``forward``), the transpose of their
linear part applied to a batch of coefficient maps (``transpose``, CROWN's backward step),
the coefficients' product with their bias (``bias_term``, None without one) and their
linear part with absolute weights (``forward_abs``, for interval arithmetic). ``ReLU`` and
``MaxPool`` are the two nonlinear operations; their relaxations are in ``relaxations``.

Tensors are per example with a leading batch axis; images are channels-last. Weights may be
constants or a live model's variables (read at every call, so bounds are differentiable).
"""

import dataclasses
from typing import Optional, Sequence, Tuple

import tensorflow as tf

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)

Shape = Tuple[int, ...]


def _sum_per_row(values: tf.Tensor) -> tf.Tensor:
    return tf.reduce_sum(values, axis=list(range(1, len(values.shape))))


@dataclasses.dataclass(frozen=True)
class Dense:
    """``x @ kernel + bias`` on the last axis (Keras Dense without its activation)."""

    kernel: tf.Tensor  # [inputs, units]
    bias: Optional[tf.Tensor]  # [units]

    def forward(self, x: tf.Tensor) -> tf.Tensor:
        out = tf.tensordot(x, self.kernel, [[len(x.shape) - 1], [0]])
        return out if self.bias is None else out + self.bias

    def forward_abs(self, x: tf.Tensor) -> tf.Tensor:
        return tf.tensordot(x, tf.abs(self.kernel), [[len(x.shape) - 1], [0]])

    def transpose(self, lam: tf.Tensor, input_shapes: Sequence[Shape]) -> list:
        return [tf.tensordot(lam, self.kernel, [[len(lam.shape) - 1], [1]])]

    def bias_term(self, lam: tf.Tensor) -> Optional[tf.Tensor]:
        return None if self.bias is None else _sum_per_row(lam * self.bias)

    def row_norms(self, input_shape: Shape) -> Optional[tf.Tensor]:
        """The L2 norm of the weights of each output unit, shaped like one output."""
        if len(input_shape) != 1:
            return None
        return tf.sqrt(tf.reduce_sum(tf.square(self.kernel), axis=0))

    def jacobian_rows(self, rows: tf.Tensor, input_shape: Shape) -> Optional[tf.Tensor]:
        """Rows of the Jacobian for the flat output units ``rows``: [len(rows), inputs]."""
        if len(input_shape) != 1:
            return None
        return tf.transpose(tf.gather(self.kernel, rows, axis=1))

    def bias_rows(self, rows: tf.Tensor) -> tf.Tensor:
        return tf.zeros_like(rows, tf.float32) if self.bias is None else tf.gather(self.bias, rows)


@dataclasses.dataclass(frozen=True)
class Conv:
    """A 2-D convolution (Keras Conv2D without its activation), channels-last."""

    kernel: tf.Tensor  # [height, width, in channels, out channels]
    bias: Optional[tf.Tensor]
    strides: Tuple[int, int]
    padding: str  # 'VALID' or 'SAME'

    def _conv(self, x: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
        return tf.nn.conv2d(x, kernel, self.strides, self.padding)

    def forward(self, x: tf.Tensor) -> tf.Tensor:
        out = self._conv(x, self.kernel)
        return out if self.bias is None else out + self.bias

    def forward_abs(self, x: tf.Tensor) -> tf.Tensor:
        return self._conv(x, tf.abs(self.kernel))

    def transpose(self, lam: tf.Tensor, input_shapes: Sequence[Shape]) -> list:
        shape = tf.concat([tf.shape(lam)[:1], tf.constant(input_shapes[0])], axis=0)
        return [tf.nn.conv2d_transpose(lam, self.kernel, shape, self.strides, self.padding)]

    def bias_term(self, lam: tf.Tensor) -> Optional[tf.Tensor]:
        return None if self.bias is None else _sum_per_row(lam * self.bias)

    def row_norms(self, input_shape: Shape) -> Optional[tf.Tensor]:
        # Each output's weights are the kernel cut by the image's border (zero padding).
        ones = tf.ones([1, *input_shape])
        return tf.sqrt(self._conv(ones, tf.square(self.kernel))[0])

    def jacobian_rows(self, rows: tf.Tensor, input_shape: Shape) -> tf.Tensor:
        """Rows of the Jacobian for the flat output units ``rows``, built from the kernel
        without convolving one-hot maps: [len(rows), height, width, in channels]."""
        kh, kw, _, cout = (int(side) for side in self.kernel.shape)
        height, width = int(input_shape[0]), int(input_shape[1])
        out_w = output_size(width, kw, self.strides[1], self.padding)
        row, col, channel = rows // (out_w * cout), (rows // cout) % out_w, rows % cout
        top = leading_padding(height, kh, self.strides[0], self.padding)
        left = leading_padding(width, kw, self.strides[1], self.padding)
        # One-hot placement of each kernel row and column; outside the image is all zeros.
        at_row = tf.one_hot(row[:, None] * self.strides[0] + tf.range(kh)[None] - top, height)
        at_col = tf.one_hot(col[:, None] * self.strides[1] + tf.range(kw)[None] - left, width)
        weights = tf.gather(self.kernel, channel, axis=3)  # [kh, kw, cin, rows]
        by_col = tf.einsum("rbw,abcr->rawc", at_col, weights)
        return tf.einsum("rah,rawc->rhwc", at_row, by_col)

    def bias_rows(self, rows: tf.Tensor) -> tf.Tensor:
        if self.bias is None:
            return tf.zeros_like(rows, tf.float32)
        return tf.gather(self.bias, rows % int(self.kernel.shape[3]))


def output_size(size: int, kernel: int, stride: int, padding: str) -> int:
    """A side of a convolution's or pooling's output, as TensorFlow computes it."""
    if padding == "SAME":
        return -(-size // stride)
    return (size - kernel) // stride + 1


def leading_padding(size: int, kernel: int, stride: int, padding: str) -> int:
    """The zeros TensorFlow adds before the first pixel of a side ('SAME' pads the extra one
    after)."""
    if padding == "VALID":
        return 0
    out = output_size(size, kernel, stride, padding)
    return max((out - 1) * stride + kernel - size, 0) // 2


@dataclasses.dataclass(frozen=True)
class Scale:
    """``x * scale + shift`` per channel (an unfolded BatchNormalization at inference)."""

    scale: tf.Tensor
    shift: tf.Tensor

    def forward(self, x: tf.Tensor) -> tf.Tensor:
        return x * self.scale + self.shift

    def forward_abs(self, x: tf.Tensor) -> tf.Tensor:
        return x * tf.abs(self.scale)

    def transpose(self, lam: tf.Tensor, input_shapes: Sequence[Shape]) -> list:
        return [lam * self.scale]

    def bias_term(self, lam: tf.Tensor) -> tf.Tensor:
        return _sum_per_row(lam * self.shift)


@dataclasses.dataclass(frozen=True)
class AvgPool:
    """2-D average pooling; with 'SAME' padding TensorFlow averages the pixels inside."""

    pool: Tuple[int, int]
    strides: Tuple[int, int]
    padding: str

    def forward(self, x: tf.Tensor) -> tf.Tensor:
        return tf.nn.avg_pool2d(x, self.pool, self.strides, self.padding)

    forward_abs = forward

    def transpose(self, lam: tf.Tensor, input_shapes: Sequence[Shape]) -> list:
        shape = tf.concat([tf.shape(lam)[:1], tf.constant(input_shapes[0])], axis=0)
        grad = tf.raw_ops.AvgPoolGrad(
            orig_input_shape=shape,
            grad=lam,
            ksize=[1, *self.pool, 1],
            strides=[1, *self.strides, 1],
            padding=self.padding,
        )
        return [grad]

    def bias_term(self, lam: tf.Tensor) -> None:
        return None


@dataclasses.dataclass(frozen=True)
class GlobalAvgPool:
    """The mean over height and width (Keras GlobalAveragePooling2D)."""

    keepdims: bool

    def forward(self, x: tf.Tensor) -> tf.Tensor:
        return tf.reduce_mean(x, axis=[1, 2], keepdims=self.keepdims)

    forward_abs = forward

    def transpose(self, lam: tf.Tensor, input_shapes: Sequence[Shape]) -> list:
        height, width, channels = input_shapes[0]
        per_channel = tf.reshape(lam, [-1, 1, 1, channels]) / float(height * width)
        return [tf.tile(per_channel, [1, height, width, 1])]

    def bias_term(self, lam: tf.Tensor) -> None:
        return None


@dataclasses.dataclass(frozen=True)
class Reshape:
    """A reshape of each example, e.g. Flatten (row-major, channels-last)."""

    shape: Shape

    def forward(self, x: tf.Tensor) -> tf.Tensor:
        return tf.reshape(x, [-1, *self.shape])

    forward_abs = forward

    def transpose(self, lam: tf.Tensor, input_shapes: Sequence[Shape]) -> list:
        return [tf.reshape(lam, [-1, *input_shapes[0]])]

    def bias_term(self, lam: tf.Tensor) -> None:
        return None


@dataclasses.dataclass(frozen=True)
class Pad:
    """Zeros around each image: ((top, bottom), (left, right)) (Keras ZeroPadding2D)."""

    padding: Tuple[Tuple[int, int], Tuple[int, int]]

    def forward(self, x: tf.Tensor) -> tf.Tensor:
        return tf.pad(x, [[0, 0], *self.padding, [0, 0]])

    forward_abs = forward

    def transpose(self, lam: tf.Tensor, input_shapes: Sequence[Shape]) -> list:
        (top, _), (left, _) = self.padding
        height, width, _ = input_shapes[0]
        return [lam[:, top : top + height, left : left + width]]

    def bias_term(self, lam: tf.Tensor) -> None:
        return None


@dataclasses.dataclass(frozen=True)
class Add:
    """The sum of two or more inputs of one shape (a residual connection)."""

    def forward(self, *xs: tf.Tensor) -> tf.Tensor:
        return tf.add_n(list(xs))

    forward_abs = forward

    def transpose(self, lam: tf.Tensor, input_shapes: Sequence[Shape]) -> list:
        return [lam] * len(input_shapes)

    def bias_term(self, lam: tf.Tensor) -> None:
        return None


@dataclasses.dataclass(frozen=True)
class ReLU:
    """``max(x, 0)``."""

    def forward(self, x: tf.Tensor) -> tf.Tensor:
        return tf.nn.relu(x)


@dataclasses.dataclass(frozen=True)
class MaxPool:
    """2-D max pooling."""

    pool: Tuple[int, int]
    strides: Tuple[int, int]
    padding: str

    def forward(self, x: tf.Tensor) -> tf.Tensor:
        return tf.nn.max_pool2d(x, self.pool, self.strides, self.padding)

    @property
    def overlapping(self) -> bool:
        """Whether one pixel can fall in two windows."""
        return any(s < p for s, p in zip(self.strides, self.pool, strict=True))


LINEAR = (Dense, Conv, Scale, AvgPool, GlobalAvgPool, Reshape, Pad, Add)
MONOTONE = (ReLU, MaxPool)  # elementwise non-decreasing: intervals map exactly
