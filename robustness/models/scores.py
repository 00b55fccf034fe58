"""A SavedModel's signature as the ``images -> logits`` function every attack takes, whatever
the model's own conventions, and what its output holds, read from its answers on clean data.

Attacks and epsilon work on float images in [0, 1]: the function scales them to the pixel
range the model takes (``input_scale``), drops the channel axis of a ``[batch, height,
width]`` input, and casts to the input's dtype. A softmax output is detected (every row
non-negative and summing to 1 on clean images) and turned into log-probabilities, which are
logits of the same softmax: the attacks' cross-entropy, DLR and margin losses then read what
they read on logits, and the predicted class is the same.
"""

import dataclasses
from typing import Mapping, Optional, Sequence

import numpy as np
import tensorflow as tf

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.base.model_interface_config import ModelInterfaceConfig
from robustfx.robustness.models.examples import read_examples
from robustfx.robustness.models.model_interface import (
    LOGITS,
    PROBABILITIES,
    ModelInterface,
    read_interface,
)
from robustfx.robustness.models.saved_model_pb import ModelSignatureError

DETECTION_EXAMPLES = 64  # clean examples the output is judged on
PROBABILITY_TOLERANCE = 1e-3  # how far from 1 a row of probabilities may sum
# log(0) is -inf and its gradient NaN; the smallest normal float32 keeps both finite.
_LOG_FLOOR = float(np.finfo(np.float32).tiny)


def _scores_fn(signature, interface: ModelInterface):
    """images in [0, 1] -> the signature's output, as float32."""
    dtype = tf.as_dtype(interface.input_dtype)

    def scores(images):
        if interface.input_scale != 1:
            images = images * float(interface.input_scale)
        if not interface.with_channels:
            images = images[..., 0]
        outputs = signature(**{interface.input_key: tf.cast(images, dtype)})
        return tf.cast(outputs[interface.output_key], tf.float32)

    return scores


def _load(model_dir: str, interface: ModelInterface):
    loaded = tf.saved_model.load(model_dir)
    signature = loaded.signatures.get(interface.signature)
    if signature is None:
        raise ModelSignatureError(
            f"model {model_dir} has no '{interface.signature}' signature once loaded (it has "
            f"{sorted(loaded.signatures)})"
        )
    return loaded, _scores_fn(signature, interface)


def load_logits_fn(model_dir: str, interface: Optional[ModelInterface] = None):
    """Loads a SavedModel as ``images -> logits`` on float images in [0, 1].

    Args:
      interface: how to call it (``detect_output``'s answer); by default what
        ``read_interface`` finds, its output taken for logits.

    Returns:
      (logits_fn, image_shape) where image_shape is (height, width, channels), and
      ``logits_fn.saved_model`` is the loaded SavedModel (its other signatures are usable,
      and holding it keeps the signature alive).

    Raises:
      ModelSignatureError: no signature the attacks can use.
    """
    interface = interface or read_interface(model_dir)
    loaded, scores = _load(model_dir, interface)
    if interface.output == PROBABILITIES:

        def logits_fn(images):
            return tf.math.log(tf.maximum(scores(images), _LOG_FLOOR))

    else:
        logits_fn = scores  # the signature's own tensors, untouched at scale 1 in float32
    logits_fn.saved_model = loaded
    return logits_fn, interface.image_shape


def output_kind(values: np.ndarray) -> str:
    """PROBABILITIES when every row is non-negative and sums to 1, else LOGITS."""
    sums = values.sum(axis=-1)
    rows_are_distributions = (values >= 0).all() and np.allclose(
        sums, 1.0, rtol=0.0, atol=PROBABILITY_TOLERANCE
    )
    return PROBABILITIES if rows_are_distributions else LOGITS


def detect_output(
    model_dir: str, interface: ModelInterface, images, num_classes: int
) -> ModelInterface:
    """``interface`` with its ``output`` read from the model's answers on clean ``images``.

    Raises:
      ModelSignatureError: the answers are not one finite score per class of the dataset.
    """
    loaded, scores = _load(model_dir, interface)
    values = scores(images).numpy()
    del loaded
    where = f"model {model_dir} signature '{interface.signature}' output '{interface.output_key}'"
    expected = [len(values), num_classes]
    if list(values.shape) != expected:
        raise ModelSignatureError(
            f"{where} gives scores of shape {list(values.shape)} for {len(values)} clean "
            f"images, not {expected}: they are not class scores for the dataset's "
            f"{num_classes} classes"
        )
    if not np.isfinite(values).all():
        raise ModelSignatureError(f"{where} gives NaN or infinite scores on clean images")
    return dataclasses.replace(interface, output=output_kind(values))


def interfaces_on_data(
    model_dirs: Mapping[str, str],
    request: Optional[ModelInterfaceConfig],
    class_names: Sequence[str],
    example_files: str,
    raw_image_shape: Optional[Sequence[Optional[int]]] = None,
) -> dict:
    """Role -> the ``ModelInterface`` of each model, read from ``saved_model.pb`` and from its
    answers on the first ``DETECTION_EXAMPLES`` clean examples. Run only on models the graph
    check passed."""
    interfaces = {
        role: read_interface(directory, request, len(class_names), raw_image_shape)
        for role, directory in model_dirs.items()
    }
    shape = next(iter(interfaces.values())).image_shape
    images, _ = read_examples(example_files, DETECTION_EXAMPLES, shape, raw_image_shape)
    return {
        role: detect_output(model_dirs[role], interface, images, len(class_names))
        for role, interface in interfaces.items()
    }
