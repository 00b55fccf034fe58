"""Imports neural-structured-learning on TensorFlow 2.16, where its package import breaks.

NSL 1.4.0's ``__init__`` imports its estimator subpackage, which does
``from tensorflow import estimator``; TensorFlow 2.16 removed ``tf.estimator``, so the import
fails with ``ImportError: cannot import name 'estimator' from 'tensorflow'``. The project
never calls the estimator API, so a placeholder attribute is enough. See
https://github.com/tensorflow/neural-structured-learning/issues/130.

NSL also needs Keras 2; ``robustfx/__init__`` pins ``TF_USE_LEGACY_KERAS=1`` before
TensorFlow loads, and ``load_nsl`` refuses to run under Keras 3 rather than fail obscurely.

NSL's random start (``random_init``, which the default recipe uses) draws its noise with the
batch's *static* shape, so it fails ("Cannot convert a partially known TensorShape") on any
batch whose size is unknown at trace time: Keras ``fit`` on arrays, or a dataset batched
without ``drop_remainder``. ``load_nsl`` gives NSL a version of that one function that draws
with the dynamic shape for L-infinity and L2 (same distributions), and keeps NSL's own for
fully known shapes and other norms.
"""

import types

import tensorflow as tf

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)


def load_nsl() -> types.ModuleType:
    """Returns the ``neural_structured_learning`` module, importable on TF 2.16."""
    if not hasattr(tf, "estimator"):
        tf.estimator = types.ModuleType("tensorflow.estimator")  # placeholder, never called
    keras_module = tf.keras.Model.__module__
    if not keras_module.startswith("tf_keras."):
        raise RuntimeError(
            f"neural-structured-learning needs Keras 2 (tf_keras) but tf.keras is "
            f"{keras_module.split('.')[0]}: "
            "set TF_USE_LEGACY_KERAS=1 before TensorFlow is first imported "
            "(importing robustfx first does this)"
        )
    import neural_structured_learning as nsl
    from neural_structured_learning.lib import utils as nsl_utils

    if not getattr(nsl_utils.random_in_norm_ball, "robustfx_dynamic_shape", False):
        nsl_utils.random_in_norm_ball = _dynamic_shape_random(nsl_utils.random_in_norm_ball)
    return nsl


def _dynamic_shape_random(original):
    """NSL's ``random_in_norm_ball`` drawing with ``tf.shape`` where shapes are unknown."""

    def random_in_norm_ball(tensor_structure, radius, norm_type):
        tensors = tf.nest.flatten(tensor_structure)
        norm = getattr(norm_type, "value", norm_type)
        if all(t.shape.is_fully_defined() for t in tensors) or norm not in ("infinity", "l2"):
            return original(tensor_structure, radius, norm_type)
        if norm == "infinity":
            return tf.nest.map_structure(
                lambda t: tf.random.uniform(tf.shape(t), -radius, radius, t.dtype),
                tensor_structure,
            )
        # L2, as NSL draws it: Gaussian coordinates plus two extra ones (a Gamma(1, 0.5)
        # squared norm), scaled onto the ball, so points are uniform inside it.
        samples = [tf.random.normal(tf.shape(t), dtype=t.dtype) for t in tensors]
        squared = tf.add_n(
            [tf.reduce_sum(tf.square(s), axis=list(range(1, s.shape.rank))) for s in samples]
        )
        extra = tf.random.gamma(tf.shape(squared), 1.0, 0.5, squared.dtype)
        scale = radius / tf.math.sqrt(squared + extra)
        scaled = [s * tf.reshape(scale, [-1] + [1] * (s.shape.rank - 1)) for s in samples]
        return tf.nest.pack_sequence_as(tensor_structure, scaled)

    random_in_norm_ball.robustfx_dynamic_shape = True
    return random_in_norm_ball
