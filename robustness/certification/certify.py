"""``certify``: which examples no perturbation in the threat model's ball can misclassify.

An example is certified when a lower bound of the margin of its true class over every other
class, over the whole ball (in [0, 1]), is positive. ``ibp`` bounds by intervals; ``crown``
by CROWN's linear bounds and keeps, per example and class, the better of CROWN's bound and
the interval bound made from CROWN's tighter intermediate bounds: both are sound, so the
better one is. A certified example is correct on every point of the ball; an example that
is not certified may still be robust (the bound is loose, or an attack finds out).
"""

import dataclasses
import time

import numpy as np
import tensorflow as tf

from robustfx.robustness.certification import memory
from robustfx.robustness.certification.crown import crown_margins
from robustfx.robustness.certification.input_set import InputSet
from robustfx.robustness.certification.intermediate import crown_bounds
from robustfx.robustness.certification.intervals import interval_bounds, margin_lower_bounds
from robustfx.robustness.certification.network import Network

METHODS = ("ibp", "crown")
# A margin bound must exceed this, relative to the logits' scale, to certify: float32
# rounding in the bound's long sums must not turn a zero margin into a certificate.
MARGIN_TOLERANCE = 1e-5


@dataclasses.dataclass(frozen=True)
class Certificate:
    """What the verifier proved for each example."""

    method: str
    norm: str
    epsilon: float
    margins: np.ndarray  # [examples]: lower bound of min_j logit[label] - logit[j] over the set
    certified: np.ndarray  # [examples] bool
    seconds: float

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.certified)) if self.certified.size else 0.0


def margin_bounds(
    network: Network, inputs: InputSet, labels: tf.Tensor, method: str, budget: int
) -> tf.Tensor:
    """Lower bounds of ``logit[label] - logit[j]`` for every class j, [batch, classes]
    (0 at the label's own column), by ``method``."""
    if method == "ibp":
        return margin_lower_bounds(network, interval_bounds(network, inputs), labels)
    if method != "crown":
        raise ValueError(f"method={method!r} is not one of {', '.join(METHODS)}")
    bounds = crown_bounds(network, inputs, budget)
    return tf.maximum(
        crown_margins(network, inputs, labels, bounds),
        margin_lower_bounds(network, bounds, labels),
    )


def _worst_margin(margins: tf.Tensor, labels: tf.Tensor, classes: int) -> tf.Tensor:
    own = tf.one_hot(tf.cast(labels, tf.int32), classes) > 0
    return tf.reduce_min(tf.where(own, tf.fill(tf.shape(margins), np.inf), margins), axis=1)


def certify(
    network: Network,
    images: np.ndarray,
    labels: np.ndarray,
    epsilon: float,
    norm: str = "linf",
    method: str = "crown",
    batch_size: int = 128,
    budget: int = memory.DEFAULT_BUDGET,
) -> Certificate:
    """Certifies each example against every perturbation in the ball of ``norm`` and radius
    ``epsilon`` (intersected with [0, 1]).

    Args:
      network: from ``keras_models.from_keras`` or ``saved_model.load_network``.
      images: [examples, *input shape] in [0, 1].
      labels: [examples] true classes.
      batch_size: examples per IBP batch; CROWN's batch is planned within ``budget``.
      budget: bytes one CROWN backward pass's coefficients may hold (``memory``).

    Raises:
      ValueError: an unknown method or norm, a negative epsilon, or mismatched inputs.
    """
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not one of {', '.join(METHODS)}")
    images = np.asarray(images, np.float32)
    labels = np.asarray(labels)
    if images.shape[1:] != tuple(network.input_shape) or len(images) != len(labels):
        raise ValueError(
            f"images {list(images.shape)} and labels {list(labels.shape)} do not match the "
            f"network's input {list(network.input_shape)}"
        )
    step = batch_size if method == "ibp" else memory.plan(network, batch_size, budget).crown_batch
    start = time.perf_counter()
    worst, scales = [np.zeros([0], np.float32)], [np.zeros([0], np.float32)]
    for first in range(0, len(images), step):
        x, y = tf.constant(images[first : first + step]), tf.constant(labels[first : first + step])
        margins = margin_bounds(network, InputSet(x, float(epsilon), norm), y, method, budget)
        worst.append(_worst_margin(margins, y, network.num_classes).numpy())
        scales.append(1.0 + np.max(np.abs(network.logits(x).numpy()), axis=1))
    margins, scale = np.concatenate(worst), np.concatenate(scales)
    return Certificate(
        method=method,
        norm=norm,
        epsilon=float(epsilon),
        margins=margins,
        certified=margins > MARGIN_TOLERANCE * scale,
        seconds=time.perf_counter() - start,
    )
