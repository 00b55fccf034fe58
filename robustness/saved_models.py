"""Loading SavedModels for attack: the ``serving_transformed`` signature as a differentiable
``images -> logits`` function, and a check that needs no variables. TensorFlow is imported
only when a model is touched, so the command line can name this module's error cheaply.
Paths may be remote (gs://, ...): every file access goes through ``tf.io.gfile``.
"""

import os

from robustfx.base import keys


class ModelSignatureError(ValueError):
    """The SavedModel lacks the signature that white-box attacks differentiate through."""


def _missing_signature(model_dir: str, signatures) -> ModelSignatureError:
    return ModelSignatureError(
        f"model {model_dir} has no '{keys.TRANSFORMED_SIGNATURE}' signature (it has "
        f"{sorted(signatures)}): export it with robustfx.trainer.export"
    )


def load_logits_fn(model_dir: str):
    """Loads a SavedModel's transformed-image signature as ``images -> logits``.

    Returns:
      (logits_fn, image_shape) where image_shape is (height, width, channels), and
      ``logits_fn.saved_model`` is the loaded SavedModel (its other signatures are usable,
      and holding it keeps the signature alive).

    Raises:
      ModelSignatureError: the model has no ``serving_transformed`` signature.
    """
    import tensorflow as tf

    loaded = tf.saved_model.load(model_dir)
    signature = loaded.signatures.get(keys.TRANSFORMED_SIGNATURE)
    if signature is None:
        raise _missing_signature(model_dir, loaded.signatures)
    _, kwargs = signature.structured_input_signature
    image_spec = kwargs[keys.IMAGE_KEY]

    def logits_fn(images):
        return signature(**{keys.IMAGE_KEY: images})[keys.LOGITS_KEY]

    logits_fn.saved_model = loaded
    return logits_fn, tuple(int(side) for side in image_spec.shape[1:])


def image_shape(model_dir: str) -> tuple:
    """(height, width, channels) the attack signature takes, read from ``saved_model.pb``
    without loading variables."""
    signature = _attack_signature(model_dir)
    dims = signature.inputs[keys.IMAGE_KEY].tensor_shape.dim
    return tuple(int(dim.size) for dim in dims[1:])


def check_signature(model_dir: str) -> None:
    """Fails fast, without loading variables, when a SavedModel lacks the attack signature.

    Raises:
      ModelSignatureError: no SavedModel there, or no ``serving_transformed`` signature.
    """
    _attack_signature(model_dir)


def _attack_signature(model_dir: str):
    """The ``serving_transformed`` SignatureDef, parsed from ``saved_model.pb``."""
    import tensorflow as tf
    from tensorflow.core.protobuf import saved_model_pb2

    path = os.path.join(model_dir, "saved_model.pb")
    if not tf.io.gfile.exists(path):
        raise ModelSignatureError(f"{model_dir} is not a SavedModel (no saved_model.pb)")
    saved = saved_model_pb2.SavedModel()
    with tf.io.gfile.GFile(path, "rb") as f:
        saved.ParseFromString(f.read())
    for graph in saved.meta_graphs:
        if keys.TRANSFORMED_SIGNATURE in graph.signature_def:
            return graph.signature_def[keys.TRANSFORMED_SIGNATURE]
    signatures = set().union(*(g.signature_def.keys() for g in saved.meta_graphs))
    raise _missing_signature(model_dir, signatures)


def model_fingerprint(model_dir: str) -> str:
    """SHA-256 over a SavedModel's graph and variables (paths and bytes, in order), so two
    copies of one model match wherever they live; other files (a model card) are left out."""
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
            digest.update(f.read())
    return digest.hexdigest()
