"""SavedModels as the attacks see them: loaded as a differentiable ``images -> logits``
function, checked from ``saved_model.pb`` without loading variables, and fingerprinted.
TensorFlow is imported only when a model is touched, so the command line can name this
module's error cheaply. Paths may be remote (gs://, ...): every file access goes through
``tf.io.gfile``. Which signature, input and output are used is ``model_interface``'s answer.
"""

import os
from typing import Optional, Sequence

from robustfx.base.model_interface_config import ModelInterfaceConfig
from robustfx.robustness.models.model_interface import MAX_UPSCALE, read_interface
from robustfx.robustness.models.saved_model_pb import ModelSignatureError, read_saved_model

__all__ = [
    "MAX_UPSCALE",
    "ModelSignatureError",
    "check_input_shape",
    "check_signature",
    "image_shape",
    "load_logits_fn",
    "model_fingerprint",
    "read_saved_model",
]


def load_logits_fn(model_dir: str, interface=None):
    """``scores.load_logits_fn``: (``images -> logits``, image shape); TensorFlow is imported
    here, not when this module is."""
    from robustfx.robustness.models import scores

    return scores.load_logits_fn(model_dir, interface)


def image_shape(model_dir: str, request: Optional[ModelInterfaceConfig] = None) -> tuple:
    """(height, width, channels) the attack signature takes, read from ``saved_model.pb``
    without loading variables."""
    return read_interface(model_dir, request).image_shape


def check_signature(model_dir: str, request: Optional[ModelInterfaceConfig] = None) -> None:
    """Fails fast, without loading variables, when a SavedModel has no signature the attacks
    can use.

    Raises:
      ModelSignatureError: no SavedModel there, or no usable signature, input or output.
    """
    read_interface(model_dir, request)


def check_input_shape(
    model_dir: str,
    data_shape: Sequence[Optional[int]],
    request: Optional[ModelInterfaceConfig] = None,
) -> tuple:
    """Refuses, from ``saved_model.pb`` alone, an attack signature that cannot take the
    dataset's images: not float ``[batch, height, width(, channels)]`` with known sides (or
    sides the dataset gives), other channels, or sides more than ``MAX_UPSCALE`` times the
    dataset's.

    Args:
      data_shape: (height, width, channels) from the dataset's metadata; sides may be None.

    Returns:
      (height, width, channels) the signature takes.

    Raises:
      ModelSignatureError: naming the signature's shape, the dataset's and the fix.
    """
    return read_interface(model_dir, request, data_shape=data_shape).image_shape


def _canonical_graph(graph_bytes: bytes) -> bytes:
    """``saved_model.pb`` with its function libraries sorted by name and serialized
    deterministically. TensorFlow writes a library in an order that varies between processes,
    so the same model exported by two retrains (two pods, two ``kfp run-local`` runs) differs
    byte by byte; bytes that do not parse as a SavedModel are kept as they are."""
    from google.protobuf.message import DecodeError
    from tensorflow.core.protobuf import saved_model_pb2

    saved = saved_model_pb2.SavedModel()
    try:
        saved.ParseFromString(graph_bytes)
    except DecodeError:
        return graph_bytes
    for graph in saved.meta_graphs:
        library = graph.graph_def.library
        functions = sorted(library.function, key=lambda function: function.signature.name)
        gradients = sorted(library.gradient, key=lambda g: (g.function_name, g.gradient_func))
        del library.function[:], library.gradient[:]
        library.function.extend(functions)
        library.gradient.extend(gradients)
    return saved.SerializeToString(deterministic=True)


def model_fingerprint(model_dir: str) -> str:
    """SHA-256 over a SavedModel's graph (in canonical form) and variables (paths and bytes,
    in order), so two copies of one model match wherever they live, and so do two exports of
    the same weights; other files (a model card) are left out."""
    import hashlib

    import tensorflow as tf

    digest = hashlib.sha256()
    names = ["saved_model.pb"]
    variables = os.path.join(model_dir, "variables")
    if tf.io.gfile.isdir(variables):
        names += [f"variables/{name}" for name in sorted(tf.io.gfile.listdir(variables))]
    for name in names:
        digest.update(name.encode())
        with tf.io.gfile.GFile(os.path.join(model_dir, name), "rb") as f:
            data = f.read()
        digest.update(_canonical_graph(data) if name == "saved_model.pb" else data)
    return digest.hexdigest()
