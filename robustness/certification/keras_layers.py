"""Keras layers as primitive operations, read from each layer's config and weights.

A layer is supported only when every setting that changes its output at inference is one
the verifier models; anything else raises ``UnsupportedModelError`` naming the layer and the
setting, so a model the verifier cannot model exactly never gets a certificate.
"""

from typing import Callable, List, Optional, Sequence

import numpy as np
import tensorflow as tf

from robustfx.robustness.certification import operations as ops
from robustfx.robustness.certification.operations import Shape

# (attribute) -> the layer's weight of that name ('kernel', 'gamma', ...) or None.
Weights = Callable[[str], Optional[tf.Tensor]]

# Layers that compute the identity at inference.
IDENTITY_LAYERS = (
    "InputLayer",
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "GaussianNoise",
    "GaussianDropout",
)
SUPPORTED_LAYERS = IDENTITY_LAYERS + (
    "Conv2D",
    "Dense",
    "ReLU",
    "Activation",
    "MaxPooling2D",
    "AveragePooling2D",
    "GlobalAveragePooling2D",
    "Flatten",
    "Reshape",
    "BatchNormalization",
    "ZeroPadding2D",
    "Add",
)


class UnsupportedModelError(ValueError):
    """The model has a layer (or a setting) the verifier cannot bound: no certificate."""


def unsupported(name: str, class_name: str, what: str = "") -> UnsupportedModelError:
    detail = f" with {what}" if what else ""
    return UnsupportedModelError(
        f"layer '{name}' ({class_name}{detail}) is not supported by the verifier: no "
        f"certificate (it bounds {', '.join(SUPPORTED_LAYERS[len(IDENTITY_LAYERS) :])})"
    )


def as_tuple(value) -> tuple:
    """A Keras config tuple: a list, a tuple, or the JSON form {'class_name': '__tuple__'}."""
    if isinstance(value, dict) and "items" in value:
        value = value["items"]
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return (value,)


def _pair(value) -> tuple:
    values = as_tuple(value)
    return (int(values[0]),) * 2 if len(values) == 1 else tuple(int(v) for v in values)


def _activation(name: str, class_name: str, activation) -> List[object]:
    if activation in (None, "linear"):
        return []
    if activation == "relu":
        return [ops.ReLU()]
    raise unsupported(name, class_name, f"activation {activation!r}")


def _require(condition: bool, name: str, class_name: str, what: str) -> None:
    if not condition:
        raise unsupported(name, class_name, what)


def _channels_last(name: str, class_name: str, config: dict) -> None:
    data_format = config.get("data_format") or "channels_last"
    _require(data_format == "channels_last", name, class_name, f"data_format {data_format!r}")


def _padding(name: str, class_name: str, config: dict) -> str:
    padding = str(config.get("padding", "valid")).lower()
    _require(padding in ("valid", "same"), name, class_name, f"padding {padding!r}")
    return padding.upper()


def _conv(name: str, config: dict, weights: Weights) -> List[object]:
    _channels_last(name, "Conv2D", config)
    _require(_pair(config.get("dilation_rate", 1)) == (1, 1), name, "Conv2D", "dilation")
    _require(int(config.get("groups", 1)) == 1, name, "Conv2D", "groups")
    conv = ops.Conv(
        weights("kernel"),
        weights("bias") if config.get("use_bias", True) else None,
        _pair(config.get("strides", 1)),
        _padding(name, "Conv2D", config),
    )
    return [conv] + _activation(name, "Conv2D", config.get("activation"))


def _dense(name: str, config: dict, weights: Weights) -> List[object]:
    dense = ops.Dense(weights("kernel"), weights("bias") if config.get("use_bias", True) else None)
    return [dense] + _activation(name, "Dense", config.get("activation"))


def _relu(name: str, config: dict) -> List[object]:
    for setting, plain in (("max_value", None), ("negative_slope", 0.0), ("threshold", 0.0)):
        value = config.get(setting)
        value = None if value is None else float(value)
        _require(value in (plain, None), name, "ReLU", f"{setting} {value:g}" if value else "")
    return [ops.ReLU()]


def _pooling(name: str, class_name: str, config: dict, kind) -> List[object]:
    _channels_last(name, class_name, config)
    pool = _pair(config.get("pool_size", 2))
    strides = config.get("strides")
    strides = pool if strides is None else _pair(strides)
    return [kind(pool, strides, _padding(name, class_name, config))]


def _batch_norm(name: str, config: dict, weights: Weights, input_shape: Shape) -> List[object]:
    axis = as_tuple(config.get("axis", -1))
    rank = len(input_shape) + 1  # with the batch axis
    _require(
        len(axis) == 1 and int(axis[0]) in (-1, rank - 1),
        name,
        "BatchNormalization",
        f"axis {list(axis)} (only the last, channels, axis)",
    )
    variance = weights("moving_variance") + float(config.get("epsilon", 1e-3))
    scale = tf.math.rsqrt(variance)
    if weights("gamma") is not None:
        scale = scale * weights("gamma")
    shift = -weights("moving_mean") * scale
    if weights("beta") is not None:
        shift = shift + weights("beta")
    return [ops.Scale(scale, shift)]


def _global_pool(name: str, config: dict) -> List[object]:
    _channels_last(name, "GlobalAveragePooling2D", config)
    return [ops.GlobalAvgPool(bool(config.get("keepdims", False)))]


def layer_operations(
    name: str, class_name: str, config: dict, weights: Weights, input_shapes: Sequence[Shape]
) -> List[object]:
    """The operations one Keras layer applies at inference, in order (empty: the identity).

    Raises:
      UnsupportedModelError: naming the layer, when its class or a setting is not modelled.
    """
    if class_name in IDENTITY_LAYERS:
        return []
    if class_name == "Add":
        return [ops.Add()]
    if len(input_shapes) != 1:
        raise unsupported(name, class_name, f"{len(input_shapes)} inputs")
    (shape,) = input_shapes
    if class_name == "Conv2D":
        return _conv(name, config, weights)
    if class_name == "Dense":
        return _dense(name, config, weights)
    if class_name == "ReLU":
        return _relu(name, config)
    if class_name == "Activation":
        return _activation(name, class_name, config.get("activation"))
    if class_name == "MaxPooling2D":
        return _pooling(name, class_name, config, ops.MaxPool)
    if class_name == "AveragePooling2D":
        return _pooling(name, class_name, config, ops.AvgPool)
    if class_name == "GlobalAveragePooling2D":
        return _global_pool(name, config)
    if class_name == "Flatten":
        _channels_last(name, class_name, config)
        return [ops.Reshape((int(np.prod(shape)),))]
    if class_name == "Reshape":
        target = tuple(int(side) for side in as_tuple(config["target_shape"]))
        if -1 in target:
            known = int(np.prod([side for side in target if side != -1]))
            target = tuple(int(np.prod(shape)) // known if s == -1 else s for s in target)
        return [ops.Reshape(target)]
    if class_name == "BatchNormalization":
        return _batch_norm(name, config, weights, shape)
    if class_name == "ZeroPadding2D":
        _channels_last(name, class_name, config)
        # Keras keeps the padding as ((top, bottom), (left, right)).
        sides = tuple(tuple(int(v) for v in as_tuple(side)) for side in as_tuple(config["padding"]))
        _require([len(side) for side in sides] == [2, 2], name, class_name, f"padding {sides}")
        return [ops.Pad(sides)]
    raise unsupported(name, class_name)
