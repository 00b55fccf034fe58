"""``Network``: the graph of primitive operations the verifier bounds.

Node 0 is the input; every other node applies one operation (``operations``) to earlier
nodes, so the list is in topological order, and the last node's output is the logits.
Each node keeps the name of the Keras layer it came from, for messages.
"""

import dataclasses
from typing import Dict, List, Optional, Tuple

import numpy as np
import tensorflow as tf

from robustfx.robustness.certification import operations
from robustfx.robustness.certification.operations import Shape


@dataclasses.dataclass(frozen=True)
class Node:
    """One operation and the nodes it reads."""

    name: str  # the Keras layer this node comes from
    op: object  # an operation from ``operations``; None for the input
    inputs: Tuple[int, ...]
    shape: Shape  # the output of one example

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))


@dataclasses.dataclass(frozen=True, eq=False)  # compared and hashed by identity
class Network:
    """A feed-forward network of primitive operations, in topological order."""

    nodes: Tuple[Node, ...]

    def __post_init__(self) -> None:
        if not self.nodes or self.nodes[0].op is not None:
            raise ValueError("a network starts with its input node (op None)")
        for index, node in enumerate(self.nodes[1:], start=1):
            if not node.inputs or any(i < 0 or i >= index for i in node.inputs):
                raise ValueError(f"node {index} ({node.name}) reads {node.inputs}: not earlier")

    @property
    def input_shape(self) -> Shape:
        return self.nodes[0].shape

    @property
    def output(self) -> int:
        return len(self.nodes) - 1

    @property
    def num_classes(self) -> int:
        (classes,) = self.nodes[-1].shape
        return classes

    def forward(self, images: tf.Tensor, upto: Optional[int] = None) -> List[tf.Tensor]:
        """Every node's output on ``images``, up to node ``upto`` (default: all)."""
        values = [tf.convert_to_tensor(images, tf.float32)]
        last = self.output if upto is None else upto
        for node in self.nodes[1 : last + 1]:
            values.append(node.op.forward(*(values[i] for i in node.inputs)))
        return values

    def logits(self, images: tf.Tensor) -> tf.Tensor:
        return self.forward(images)[-1]

    def consumers(self) -> Dict[int, List[int]]:
        """Node -> the nodes that read it."""
        readers: Dict[int, List[int]] = {index: [] for index in range(len(self.nodes))}
        for index, node in enumerate(self.nodes):
            for source in node.inputs:
                readers[source].append(index)
        return readers

    def bounded_nodes(self) -> List[int]:
        """Nodes a nonlinearity reads whose bounds are not exact images of earlier ones:
        CROWN computes their bounds, in order. (A ReLU or max-pool output's bounds are the
        operation applied to its input's bounds, which is exact.)"""
        needed = set()
        for node in self.nodes[1:]:
            if isinstance(node.op, operations.MONOTONE):
                source = node.inputs[0]
                if source and not isinstance(self.nodes[source].op, operations.MONOTONE):
                    needed.add(source)
        return sorted(needed)

    def describe(self) -> str:
        """One line per node, for logs."""
        lines = []
        for index, node in enumerate(self.nodes):
            kind = "Input" if node.op is None else type(node.op).__name__
            lines.append(f"{index}: {kind} {node.name} {list(node.shape)} <- {list(node.inputs)}")
        return "\n".join(lines)
