"""Loading SavedModels for attack: the ``serving_transformed`` signature as a differentiable
``images -> logits`` function, and a check that needs no variables. TensorFlow is imported
only when a model is touched, so the command line can name this module's error cheaply.
Paths may be remote (gs://, ...): every file access goes through ``tf.io.gfile``.
"""

import os
from typing import Optional, Sequence

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


def read_saved_model(model_dir: str):
    """``saved_model.pb`` parsed as a ``SavedModel`` protocol buffer: nothing is loaded or run.

    Raises:
      ModelSignatureError: no ``saved_model.pb`` there, or it does not parse.
    """
    import tensorflow as tf
    from google.protobuf.message import DecodeError
    from tensorflow.core.protobuf import saved_model_pb2

    path = os.path.join(model_dir, "saved_model.pb")
    if not tf.io.gfile.exists(path):
        raise ModelSignatureError(f"{model_dir} is not a SavedModel (no saved_model.pb)")
    saved = saved_model_pb2.SavedModel()
    with tf.io.gfile.GFile(path, "rb") as f:
        try:
            saved.ParseFromString(f.read())
        except DecodeError as error:
            raise ModelSignatureError(f"{path} is not a SavedModel: {error}") from None
    return saved


def _attack_signature(model_dir: str):
    """The ``serving_transformed`` SignatureDef, parsed from ``saved_model.pb``."""
    saved = read_saved_model(model_dir)
    for graph in saved.meta_graphs:
        if keys.TRANSFORMED_SIGNATURE in graph.signature_def:
            return graph.signature_def[keys.TRANSFORMED_SIGNATURE]
    signatures = set().union(*(g.signature_def.keys() for g in saved.meta_graphs))
    raise _missing_signature(model_dir, signatures)


# A model trained with --resize takes other sides than the records have (the evaluation
# resizes the decoded images to its input); beyond this many times a side, the resize is
# a cost the model imposes, not a recipe.
MAX_UPSCALE = 4


def check_input_shape(model_dir: str, data_shape: Sequence[Optional[int]]) -> tuple:
    """Refuses, from ``saved_model.pb`` alone, an attack signature that cannot take the
    dataset's images: not float32 ``[batch, height, width, channels]`` with known sides,
    other channels, or sides more than ``MAX_UPSCALE`` times the dataset's.

    Args:
      data_shape: (height, width, channels) from the dataset's metadata; sides may be None.

    Returns:
      (height, width, channels) the signature takes.

    Raises:
      ModelSignatureError: naming the signature's shape, the dataset's and the fix.
    """
    from tensorflow.core.framework import types_pb2

    signature = _attack_signature(model_dir)
    where = f"model {model_dir} signature '{keys.TRANSFORMED_SIGNATURE}'"
    if keys.IMAGE_KEY not in signature.inputs:
        raise ModelSignatureError(
            f"{where} has no '{keys.IMAGE_KEY}' input (it has {sorted(signature.inputs)}): "
            "export it with robustfx.trainer.export"
        )
    spec = signature.inputs[keys.IMAGE_KEY]
    dims = [int(dim.size) if dim.size >= 0 else None for dim in spec.tensor_shape.dim]
    shape = tuple(dims[1:])
    problem = None
    if spec.dtype != types_pb2.DT_FLOAT:
        problem = f"takes {types_pb2.DataType.Name(spec.dtype)} images, not DT_FLOAT"
    elif spec.tensor_shape.unknown_rank or len(dims) != 4 or None in shape:
        problem = (
            f"takes images of shape {dims}, not [batch, height, width, channels] with known sides"
        )
    elif shape[2] != data_shape[2]:
        problem = f"takes {shape[2]}-channel images, the dataset has {data_shape[2]} channels"
    elif any(
        side and mine > MAX_UPSCALE * side
        for mine, side in zip(shape[:2], data_shape[:2], strict=True)
    ):
        problem = (
            f"takes {shape[0]}x{shape[1]} images, more than {MAX_UPSCALE} times the dataset's "
            f"{data_shape[0]}x{data_shape[1]} per side"
        )
    if problem:
        raise ModelSignatureError(
            f"{where} {problem}: it is refused before it runs; gate it on the dataset it was "
            "trained for (--dataset)"
        )
    return shape


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
