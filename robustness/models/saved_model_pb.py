"""``saved_model.pb`` as a protocol buffer, read without loading or running anything, and the
error every refusal of a SavedModel's form raises."""

import os


class ModelSignatureError(ValueError):
    """The SavedModel cannot be judged as it is: no usable signature, an input that does not
    fit the data, outputs that are not class scores, or a graph the check refuses."""


def read_saved_model(model_dir: str):
    """``saved_model.pb`` parsed as a ``SavedModel`` protocol buffer: nothing is loaded or run.
    Paths may be remote (gs://, ...): the file is read through ``tf.io.gfile``.

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
