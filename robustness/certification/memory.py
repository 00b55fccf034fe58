"""The verifier's memory plan: how many examples and rows each pass carries within a budget.

IBP holds two intervals per activation of each example: a few times one forward pass.
CROWN's backward passes hold coefficients over a whole layer for every (example, bounded
neuron or class) row: on the default CNN, about 85 kB per row at the first convolution's
output (26 x 26 x 32 floats), for each of the 2 x 7,744 rows of one example's second
convolution. The plan caps the rows of one pass so that its coefficients stay within
``budget`` bytes, and shrinks the batch only when even a small chunk of one layer's rows
would not fit for every example of it.
"""

import dataclasses

from robustfx.robustness.certification.network import Network

FLOAT_BYTES = 4
MIB = 2**20
DEFAULT_BUDGET = 512 * MIB
# Coefficient tensors alive at once in one backward step: the incoming ones, their positive
# and negative parts, the outgoing ones, and the copies max-pooling's scatter makes.
COEFFICIENT_COPIES = 6
# Below this many neurons per pass, passes are too many to be worth the bigger batch.
MIN_NEURONS_PER_PASS = 32
# IBP per example: lower and upper of every activation, with their centers and radii.
INTERVAL_COPIES = 4


@dataclasses.dataclass(frozen=True)
class Plan:
    """Examples per CROWN batch and the byte budget its passes respect."""

    crown_batch: int
    budget: int

    def rows_per_pass(self, network: Network, upto: int) -> int:
        """Rows (examples x specs) one backward pass from node ``upto`` may carry."""
        return rows_within(network, upto, self.budget)


def _widest(network: Network, upto: int) -> int:
    return max(node.size for node in network.nodes[: upto + 1])


def rows_within(network: Network, upto: int, budget: int) -> int:
    """Rows whose coefficients over nodes 0..upto fit in ``budget`` bytes (at least 1)."""
    per_row = COEFFICIENT_COPIES * FLOAT_BYTES * _widest(network, upto)
    return max(1, budget // per_row)


def plan(network: Network, batch: int, budget: int = DEFAULT_BUDGET) -> Plan:
    """The plan for ``batch`` examples: fewer per CROWN batch when the budget needs it."""
    if batch < 1 or budget < 1:
        raise ValueError(f"batch ({batch}) and budget ({budget} bytes) must be >= 1")
    examples = batch
    for index in network.bounded_nodes():
        rows = rows_within(network, index, budget)
        examples = min(examples, max(1, rows // (2 * MIN_NEURONS_PER_PASS)))
    margin_rows = rows_within(network, network.output, budget)
    examples = min(examples, max(1, margin_rows // network.num_classes))
    return Plan(crown_batch=examples, budget=budget)


def interval_bytes(network: Network, batch: int) -> int:
    """IBP's peak bytes for ``batch`` examples."""
    floats = sum(node.size for node in network.nodes)
    return INTERVAL_COPIES * FLOAT_BYTES * floats * batch
