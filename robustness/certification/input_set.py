"""The set of inputs a certificate covers: the epsilon ball of the threat model's norm around
each image, intersected with the [0, 1] pixel box.

For L-infinity the intersection is itself a box, so linear functions are bounded exactly.
For L2 a linear function is bounded over the ball and over the box around it (the L-infinity
ball of the same radius, clipped) and the tighter of the two is kept: both sets contain the
intersection, so either bound is sound.
"""

import dataclasses

import tensorflow as tf

from robustfx.robustness.certification.operations import Shape

NORMS = ("linf", "l2")
PIXEL_MIN, PIXEL_MAX = 0.0, 1.0


@dataclasses.dataclass(frozen=True)
class InputSet:
    """The ball of ``norm`` and radius ``epsilon`` around each of ``images``, in [0, 1]."""

    images: tf.Tensor  # [batch, *input shape]
    epsilon: float  # or a scalar tensor, inside traced passes
    norm: str

    def __post_init__(self) -> None:
        if self.norm not in NORMS:
            raise ValueError(f"norm={self.norm!r} is not one of {', '.join(NORMS)}")
        if isinstance(self.epsilon, (int, float)) and not self.epsilon >= 0:
            raise ValueError(f"epsilon={self.epsilon!r} must be >= 0")

    @property
    def box(self):
        """(lower, upper) per pixel: the L-infinity ball clipped to [0, 1]. It contains the
        set for both norms."""
        lower = tf.maximum(self.images - self.epsilon, PIXEL_MIN)
        upper = tf.minimum(self.images + self.epsilon, PIXEL_MAX)
        return lower, upper

    def _flat(self, x: tf.Tensor) -> tf.Tensor:
        return tf.reshape(x, [tf.shape(x)[0], -1])

    def concretize(self, lam: tf.Tensor) -> tf.Tensor:
        """The minimum of ``lam . x`` over the set, for coefficients ``lam`` [b, specs,
        *input shape] with b the batch or 1 (shared by every example): [batch, specs]."""
        specs = tf.shape(lam)[1]
        flat = tf.reshape(lam, [tf.shape(lam)[0], specs, -1])
        lower, upper = self.box
        center, radius = self._flat((lower + upper) / 2), self._flat((upper - lower) / 2)
        best = _dot(flat, center) - _dot(tf.abs(flat), radius)
        if self.norm == "l2":
            norms = tf.sqrt(tf.reduce_sum(tf.square(flat), axis=-1))
            best = tf.maximum(best, _dot(flat, self._flat(self.images)) - self.epsilon * norms)
        return best

    def affine_bounds(self, op, input_shape: Shape):
        """Exact (L-infinity) or ball-and-box (L2) bounds of ``op`` applied to the input."""
        lower, upper = self.box
        center = op.forward((lower + upper) / 2)
        radius = op.forward_abs((upper - lower) / 2)
        low, high = center - radius, center + radius
        row_norms = getattr(op, "row_norms", None)
        norms = row_norms(input_shape) if self.norm == "l2" and row_norms else None
        if norms is not None:
            at_image = op.forward(self.images)
            low = tf.maximum(low, at_image - self.epsilon * norms)
            high = tf.minimum(high, at_image + self.epsilon * norms)
        return low, high


def _dot(coefficients: tf.Tensor, points: tf.Tensor) -> tf.Tensor:
    """[b, specs, d] . [batch, d] -> [batch, specs], with b the batch or 1."""
    if coefficients.shape[0] == 1:
        return tf.matmul(points, coefficients[0], transpose_b=True)
    return tf.einsum("bsd,bd->bs", coefficients, points)
