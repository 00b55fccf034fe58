"""Imports neural-structured-learning on TensorFlow 2.16, where its package import breaks.

NSL 1.4.0's ``__init__`` imports its estimator subpackage, which does
``from tensorflow import estimator``; TensorFlow 2.16 removed ``tf.estimator``, so the import
fails with ``ImportError: cannot import name 'estimator' from 'tensorflow'``. The project
never calls the estimator API, so a placeholder attribute is enough. See
https://github.com/tensorflow/neural-structured-learning/issues/130.

NSL also needs Keras 2; ``robustfx/__init__`` pins ``TF_USE_LEGACY_KERAS=1`` before
TensorFlow loads, and ``load_nsl`` refuses to run under Keras 3 rather than fail obscurely.
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

    return nsl
