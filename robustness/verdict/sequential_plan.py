"""The rounds of a gate that decides early: a seeded random order of the split's examples, the
number judged after each round, and the validity checks' own sample, all fixed before any
outcome is seen. Pure NumPy.

The order is a uniform random permutation, so the examples judged after any round are a
simple random sample of the split, and the rounds' sizes do not depend on the data: both are
what the per-round bounds of ``sequential_bounds`` need to hold at every look. The validity
checks (epsilon sweep, noise controls, large-epsilon sanity) are judged on the first
``validity_size`` examples of the order, a sample chosen with the order, before any look.
"""

import dataclasses
from typing import Sequence, Tuple

import numpy as np

from robustfx.base.gate_config import EARLY_ROUND_SIZES as DEFAULT_ROUND_SIZES
from robustfx.base.validation import check_int, require


@dataclasses.dataclass(frozen=True)
class RoundPlan:
    """Which examples each round judges; rounds are numbered from 1.

    Attributes:
      order: every example index of the split, in the order they are judged.
      ends: examples judged after each round (cumulative, increasing); the last is all.
      validity_size: the validity checks' sample is the first this many of ``order``.
      seed: the seed the order was drawn with.
    """

    order: Tuple[int, ...]
    ends: Tuple[int, ...]
    validity_size: int
    seed: int

    @property
    def rounds(self) -> int:
        return len(self.ends)

    @property
    def num_examples(self) -> int:
        return self.ends[-1]

    def is_last(self, round_number: int) -> bool:
        return self._checked(round_number) == self.rounds

    def judged(self, round_number: int) -> np.ndarray:
        """Example indices judged by the end of ``round_number``, in the plan's order."""
        return np.asarray(self.order[: self.ends[self._checked(round_number) - 1]], np.int64)

    def new_in(self, round_number: int) -> np.ndarray:
        """Example indices that ``round_number`` adds to the earlier rounds'."""
        start = self.ends[self._checked(round_number) - 2] if round_number > 1 else 0
        return np.asarray(self.order[start : self.ends[round_number - 1]], np.int64)

    def validity_indices(self) -> np.ndarray:
        """The validity checks' fixed sample of example indices."""
        return np.asarray(self.order[: self.validity_size], np.int64)

    def in_order(self, values: np.ndarray, round_number: int) -> np.ndarray:
        """Per-example ``values`` (last axis indexed by example, all of the split) for the
        examples judged by ``round_number``, in the plan's order.

        Raises:
          ValueError: the last axis is not the split's size, or an example judged by then has
            no value (NaN).
        """
        values = np.asarray(values)
        require(
            values.shape[-1:] == (self.num_examples,),
            f"per-example values of shape {values.shape} do not cover the split's "
            f"{self.num_examples} examples on their last axis",
        )
        judged = self.judged(round_number)
        taken = values[..., judged]
        if np.issubdtype(taken.dtype, np.floating):
            missing = judged[np.isnan(taken).reshape(-1, judged.size).any(axis=0)]
            if missing.size:
                raise ValueError(
                    f"{missing.size} examples judged by round {round_number} have no value "
                    f"yet (NaN), e.g. example {int(missing[0])}"
                )
        return taken

    def _checked(self, round_number: int) -> int:
        require(
            isinstance(round_number, int) and 1 <= round_number <= self.rounds,
            f"round {round_number!r} is not in the plan's rounds 1-{self.rounds}",
        )
        return round_number


def plan_rounds(
    num_examples: int,
    seed: int,
    round_sizes: Sequence[int] = DEFAULT_ROUND_SIZES,
    validity_size: int = 0,
) -> RoundPlan:
    """The plan for a split of ``num_examples``: a random order drawn from ``seed``, rounds
    ending at each of ``round_sizes`` smaller than the split and then at all of it, and the
    validity sample (``validity_size`` examples; 0 takes the first round's).

    Raises:
      ConfigError: a size is not a positive integer, the sizes do not increase, or the
        validity sample is larger than the split.
    """
    check_int("number of examples to judge", num_examples, 1)
    check_int("round seed", seed, 0)
    for size in round_sizes:
        check_int("round size", size, 1)
    require(
        all(a < b for a, b in zip(round_sizes, round_sizes[1:], strict=False)),
        f"round sizes {list(round_sizes)} must increase strictly",
    )
    ends = tuple(int(size) for size in round_sizes if size < num_examples) + (num_examples,)
    check_int("validity sample size", validity_size, 0)
    require(
        validity_size <= num_examples,
        f"validity sample size {validity_size} exceeds the split's {num_examples} examples",
    )
    order = np.random.default_rng(seed).permutation(num_examples)
    return RoundPlan(
        order=tuple(int(i) for i in order),
        ends=ends,
        validity_size=validity_size or ends[0],
        seed=seed,
    )
