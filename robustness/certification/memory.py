"""The verifier's memory plan: how many examples and rows each pass carries within a budget.

IBP holds two intervals per activation of each example: a few times one forward pass.
CROWN's backward passes hold coefficients over a layer for every (example, bounded neuron
or class) row. Densely that is 85 kB per row at the default CNN's first convolution output
(26 x 26 x 32 floats), for each of the 2 x 7,744 rows of one example's second convolution;
a convolution's neurons are bounded in patches, over their receptive field only (6 x 6 x 32
floats there). The plan caps the rows of one pass so that its coefficients stay within
``budget`` bytes, and shrinks the batch only when even a small chunk of one layer's rows
would not fit for every example of it.
"""

import dataclasses

from robustfx.robustness.certification import operations as ops
from robustfx.robustness.certification import patches
from robustfx.robustness.certification.network import Network

FLOAT_BYTES = 4
MIB = 2**20
DEFAULT_BUDGET = 512 * MIB
# Coefficient tensors alive at once in one backward step: the incoming ones, their positive
# and negative parts, the outgoing ones, and the copies max-pooling's scatter makes.
COEFFICIENT_COPIES = 6
# Below this many neurons (channels of a convolution) per pass, passes are too many to be
# worth the bigger batch.
MIN_NEURONS_PER_PASS = 32
MIN_CHANNELS_PER_PASS = 4
# IBP per example: lower and upper of every activation, with their centers and radii.
INTERVAL_COPIES = 4


@dataclasses.dataclass(frozen=True)
class Plan:
    """Examples per CROWN batch and the byte budget its passes respect."""

    crown_batch: int
    budget: int


def _widest(network: Network, upto: int) -> int:
    return max(node.size for node in network.nodes[: upto + 1])


def row_floats(network: Network, index: int) -> int:
    """The most floats one row (one example's bound on one neuron of node ``index``) holds
    during CROWN's pass: a window of each node for a convolution's neurons (``patches``),
    a whole node otherwise and wherever the pass leaves patches."""
    node = network.nodes[index]
    if not isinstance(node.op, ops.Conv):
        return _widest(network, index)
    size, index = tuple(int(side) for side in node.op.kernel.shape[:2]), node.inputs[0]
    widest = 0
    while index and patches.follows(network.nodes[index].op):
        widest = max(widest, size[0] * size[1] * network.nodes[index].shape[-1])
        size = patches.window_back(network.nodes[index].op, size)
        index = network.nodes[index].inputs[0]
    if index:
        widest = max(widest, _widest(network, index))
    return max(widest, size[0] * size[1] * network.nodes[index].shape[-1])


def rows_within(network: Network, index: int, budget: int) -> int:
    """Rows of a pass from node ``index`` whose coefficients fit in ``budget`` bytes (at
    least 1)."""
    per_row = COEFFICIENT_COPIES * FLOAT_BYTES * row_floats(network, index)
    return max(1, budget // per_row)


def plan(network: Network, batch: int, budget: int = DEFAULT_BUDGET) -> Plan:
    """The plan for ``batch`` examples: fewer per CROWN batch when the budget needs it."""
    if batch < 1 or budget < 1:
        raise ValueError(f"batch ({batch}) and budget ({budget} bytes) must be >= 1")
    examples = batch
    for index in network.bounded_nodes():
        node = network.nodes[index]
        if isinstance(node.op, ops.Conv):  # a pass carries whole channels
            least = MIN_CHANNELS_PER_PASS * node.shape[0] * node.shape[1]
        else:
            least = MIN_NEURONS_PER_PASS
        examples = min(examples, max(1, rows_within(network, index, budget) // (2 * least)))
    margin_rows = rows_within(network, network.output, budget)
    examples = min(examples, max(1, margin_rows // network.num_classes))
    return Plan(crown_batch=examples, budget=budget)


def interval_bytes(network: Network, batch: int) -> int:
    """IBP's peak bytes for ``batch`` examples."""
    floats = sum(node.size for node in network.nodes)
    return INTERVAL_COPIES * FLOAT_BYTES * floats * batch
