"""A Keras model's config and weights as a ``Network``: functional (one input, one output,
residual connections allowed) and Sequential models.

Only the layers the output depends on are read, from the output back (an export can track
models that are not on the path, such as the activation model). BatchNormalization that
directly follows a Conv2D or Dense without activation is folded into its kernel and bias.
"""

import dataclasses
from typing import Callable, Dict, List, Optional

import tensorflow as tf

from robustfx.robustness.certification import operations as ops
from robustfx.robustness.certification.keras_layers import (
    UnsupportedModelError,
    Weights,
    as_tuple,
    layer_operations,
    unsupported,
)
from robustfx.robustness.certification.network import Network, Node

# (layer name) -> that layer's weight reader.
LayerWeights = Callable[[str], Weights]


class _Builder:
    """Appends each layer's operations as nodes, computing shapes as it goes."""

    def __init__(self, input_shape, input_name: str) -> None:
        self.nodes: List[Node] = [Node(input_name, None, (), tuple(input_shape))]
        self._probes = [tf.zeros([1, *input_shape])]

    def add(self, name: str, operations: List[object], inputs: List[int]) -> int:
        for op in operations:
            probe = op.forward(*(self._probes[i] for i in inputs))
            self.nodes.append(Node(name, op, tuple(inputs), tuple(int(s) for s in probe.shape[1:])))
            self._probes.append(probe)
            inputs = [len(self.nodes) - 1]
        (last,) = inputs
        return last


def _input_shape(config: dict, name: str) -> tuple:
    shape = config.get("batch_input_shape") or config.get("batch_shape")
    if shape is None:
        raise UnsupportedModelError(f"model input '{name}' has no known shape: no certificate")
    shape = as_tuple(shape)[1:]
    if not shape or any(side is None for side in shape):
        raise UnsupportedModelError(f"model input '{name}' has shape {list(shape)}: no certificate")
    return tuple(int(side) for side in shape)


def _inbound(layer: dict) -> List[str]:
    """The names of the layers one functional layer reads; a layer called twice is refused."""
    nodes = layer.get("inbound_nodes") or []
    if len(nodes) != 1 or not isinstance(nodes[0], list):
        raise unsupported(layer["name"], layer["class_name"], f"{len(nodes)} calls")
    names = []
    for tensor in nodes[0]:
        if not isinstance(tensor, list) or tensor[1:3] != [0, 0]:
            raise unsupported(layer["name"], layer["class_name"], "a shared or nested input")
        names.append(tensor[0])
    return names


def _functional(config: dict, weights: LayerWeights) -> Network:
    layers = {layer["name"]: layer for layer in config["layers"]}
    inputs, outputs = config.get("input_layers"), config.get("output_layers")
    inputs = [as_tuple(entry) for entry in as_tuple(inputs)] if inputs else []
    outputs = [as_tuple(entry) for entry in as_tuple(outputs)] if outputs else []
    if len(inputs) != 1 or len(outputs) != 1:
        raise UnsupportedModelError(
            f"model '{config.get('name')}' has {len(inputs)} inputs and {len(outputs)} outputs:"
            " the verifier bounds one image input and one logits output; no certificate"
        )
    input_name = inputs[0][0]
    builder = _Builder(_input_shape(layers[input_name]["config"], input_name), input_name)
    done: Dict[str, int] = {input_name: 0}

    def visit(name: str) -> int:
        # Iterative depth-first order from the output: deep residual models stay in bounds.
        stack = [name]
        while stack:
            current = stack[-1]
            if current in done:
                stack.pop()
                continue
            layer = layers[current]
            pending = [source for source in _inbound(layer) if source not in done]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            sources = [done[source] for source in _inbound(layer)]
            shapes = [builder.nodes[i].shape for i in sources]
            operations = layer_operations(
                current, layer["class_name"], layer["config"], weights(current), shapes
            )
            done[current] = builder.add(current, operations, sources)
        return done[name]

    visit(outputs[0][0])
    return Network(tuple(builder.nodes))


def _sequential(config: dict, weights: LayerWeights, build_shape) -> Network:
    layers = list(config["layers"])
    first = layers[0]["config"]
    if layers[0]["class_name"] == "InputLayer" or "batch_input_shape" in first:
        shape = _input_shape(first, first.get("name", "input"))
    elif build_shape is not None:
        shape = tuple(int(side) for side in as_tuple(build_shape)[1:])
    else:
        raise UnsupportedModelError("Sequential model has no known input shape: no certificate")
    builder = _Builder(shape, "input")
    last = 0
    for layer in layers:
        name, class_name = layer["config"]["name"], layer["class_name"]
        operations = layer_operations(
            name, class_name, layer["config"], weights(name), [builder.nodes[last].shape]
        )
        last = builder.add(name, operations, [last])
    return Network(tuple(builder.nodes))


def _fold_scales(network: Network) -> Network:
    """Folds each Scale whose input is a Conv or Dense read by nothing else into it."""
    readers = network.consumers()
    nodes = list(network.nodes)
    remap = list(range(len(nodes)))
    kept: List[Node] = []
    for index, node in enumerate(nodes):
        inputs = tuple(remap[i] for i in node.inputs)
        source = node.inputs[0] if node.inputs else None
        if (
            isinstance(node.op, ops.Scale)
            and isinstance(nodes[source].op, (ops.Conv, ops.Dense))
            and readers[source] == [index]
        ):
            target = kept[remap[source]]
            linear, scale = target.op, node.op
            bias = scale.shift if linear.bias is None else linear.bias * scale.scale + scale.shift
            folded = dataclasses.replace(linear, kernel=linear.kernel * scale.scale, bias=bias)
            kept[remap[source]] = Node(target.name, folded, target.inputs, node.shape)
            remap[index] = remap[source]
            continue
        remap[index] = len(kept)
        kept.append(Node(node.name, node.op, inputs, node.shape))
    return Network(tuple(kept))


def network_from_config(
    class_name: str, config: dict, weights: LayerWeights, build_shape: Optional[tuple] = None
) -> Network:
    """The ``Network`` of a Keras model's config (``model.get_config()``) and weights.

    Raises:
      UnsupportedModelError: one line naming the first unsupported layer or setting.
    """
    if class_name == "Sequential":
        network = _sequential(config, weights, build_shape)
    elif class_name in ("Functional", "Model") and "input_layers" in config:
        network = _functional(config, weights)
    else:
        raise UnsupportedModelError(
            f"model '{config.get('name', class_name)}' is a {class_name} model: the verifier "
            "reads functional and Sequential Keras models only; no certificate"
        )
    if not network.nodes[-1].shape or len(network.nodes[-1].shape) != 1:
        raise UnsupportedModelError(
            f"model output {list(network.nodes[-1].shape)} is not one logit per class: no "
            "certificate"
        )
    return _fold_scales(network)


def from_keras(model: tf.keras.Model) -> Network:
    """The ``Network`` of a Keras model object; its weights stay live variables, except a
    BatchNormalization's, which are read once to fold it."""

    def weights(name: str) -> Weights:
        return lambda attribute: getattr(model.get_layer(name), attribute, None)

    build_shape = getattr(model, "_build_input_shape", None)
    class_name = "Sequential" if isinstance(model, tf.keras.Sequential) else "Functional"
    try:
        config = model.get_config()
    except NotImplementedError:
        config = {"name": model.name}
    if class_name == "Functional" and not getattr(model, "_is_graph_network", False):
        class_name = type(model).__name__
    return network_from_config(class_name, config, weights, build_shape)
