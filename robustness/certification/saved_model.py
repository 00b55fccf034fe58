"""The ``Network`` of a SavedModel that Keras 2 saved (the Trainer's export), read as data.

The layer graph comes from ``keras_metadata.pb`` (each layer's class and config as JSON)
and the weights from the SavedModel's restored variables (``tf.saved_model.load``, which
runs no Python). Keras itself never deserializes the model, so nothing in it, such as a
Lambda layer's marshalled code, runs: the model is only read.

A model's metadata could describe another network than its serving signature computes, so
``check_against_signature`` compares the two on real images before a certificate is given.
"""

import json
import os
from typing import Tuple

import numpy as np
import tensorflow as tf

from robustfx.robustness.certification.keras_layers import UnsupportedModelError
from robustfx.robustness.certification.keras_models import network_from_config
from robustfx.robustness.certification.network import Network

METADATA_FILE = "keras_metadata.pb"
# Logits that differ by more than this (relative to their scale) mean the signature does not
# compute the network the metadata describes.
SIGNATURE_TOLERANCE = 1e-4


def _read_metadata(model_dir: str):
    from tf_keras.protobuf import saved_metadata_pb2

    path = os.path.join(model_dir, METADATA_FILE)
    if not tf.io.gfile.exists(path):
        raise UnsupportedModelError(
            f"{model_dir} has no {METADATA_FILE}: it was not saved by Keras 2, so its layers "
            "cannot be read; no certificate"
        )
    metadata = saved_metadata_pb2.SavedMetadata()
    with tf.io.gfile.GFile(path, "rb") as f:
        metadata.ParseFromString(f.read())
    return metadata


def _layer_paths(metadata) -> dict:
    """Layer name -> its object path under the root ('layer_with_weights-0')."""
    paths = {}
    for node in metadata.nodes:
        parts = node.node_path.split(".")
        if len(parts) == 2 and parts[0] == "root":
            paths.setdefault(json.loads(node.metadata).get("name"), parts[1])
    return paths


def load_network(model_dir: str) -> Tuple[Network, object]:
    """Reads a Keras 2 SavedModel as a ``Network``.

    Returns:
      (network, loaded) where ``loaded`` is the restored SavedModel (keep it alive while the
      network is used: the network's weights are its variables).

    Raises:
      UnsupportedModelError: no Keras metadata, or a layer the verifier does not support.
    """
    metadata = _read_metadata(model_dir)
    roots = [node for node in metadata.nodes if node.node_path == "root"]
    if not roots:
        raise UnsupportedModelError(f"{model_dir}: {METADATA_FILE} has no root model")
    root = json.loads(roots[0].metadata)
    paths = _layer_paths(metadata)
    loaded = tf.saved_model.load(model_dir)

    def weights(name: str):
        layer = getattr(loaded, paths[name]) if name in paths else None

        def weight(attribute: str):
            value = getattr(layer, attribute, None)
            return value if isinstance(value, tf.Variable) else None

        return weight

    network = network_from_config(
        root.get("class_name", ""), root.get("config", {}), weights, root.get("build_input_shape")
    )
    return network, loaded


def check_against_signature(network: Network, logits_fn, images: np.ndarray) -> None:
    """Refuses a network whose logits differ from the model's own on ``images``.

    Raises:
      UnsupportedModelError: the served logits are not the network's.
    """
    served = np.asarray(logits_fn(tf.constant(images, tf.float32)))
    mine = np.asarray(network.logits(images))
    if served.shape != mine.shape:
        raise UnsupportedModelError(
            f"the model serves logits of shape {served.shape[1:]} but its Keras layers give "
            f"{mine.shape[1:]}: no certificate"
        )
    scale = max(1.0, float(np.max(np.abs(served))))
    gap = float(np.max(np.abs(served - mine))) if served.size else 0.0
    if gap > SIGNATURE_TOLERANCE * scale:
        raise UnsupportedModelError(
            f"the model's serving signature computes other logits than its Keras layers "
            f"(largest difference {gap:.3g}): no certificate"
        )
