"""``AttackConfig``: one attack of the evaluation suite, named by every parameter it has."""

from __future__ import annotations

import dataclasses
import re
from typing import Optional

from robustfx.base.validation import canonical_norm, check_float, check_int, require

ATTACK_METHODS = ("fgsm", "pgd")
# Largest sensible perturbation budget per norm, for images scaled to [0, 1]. An L-infinity
# epsilon of 1 already allows any image; an L2 epsilon is measured over all pixels, so it
# is larger. An epsilon above the bound almost always means the wrong norm was named.
MAX_EPSILON = {"linf": 1.0, "l2": 64.0}
_ATTACK_NAME = re.compile(r"^(fgsm|pgd)(\d*)_(linf|l2)_(\d+(?:\.\d+)?)$")


@dataclasses.dataclass(frozen=True)
class AttackConfig:
    """One white-box attack of the evaluation suite.

    Attributes:
      method: 'fgsm' (one signed/normalized gradient step) or 'pgd' (iterated, projected).
      norm: 'linf' or 'l2': the ball the perturbation must stay inside.
      epsilon: radius of that ball, in [0, 1]-scaled pixel units.
      steps: gradient steps; always 1 for FGSM.
      step_size: PGD step length; None means 2.5 * epsilon / steps (Madry et al.).
      random_start: PGD starts from a uniformly random point in the ball.
    """

    method: str = "fgsm"
    norm: str = "linf"
    epsilon: float = 0.2
    steps: int = 1
    step_size: Optional[float] = None
    random_start: bool = False

    def __post_init__(self) -> None:
        require(
            self.method in ATTACK_METHODS,
            f"attack method={self.method!r} is unknown: use one of {', '.join(ATTACK_METHODS)}",
        )
        object.__setattr__(self, "norm", canonical_norm("attack norm", self.norm))
        check_float(f"{self.method} epsilon", self.epsilon, 0.0, MAX_EPSILON[self.norm])
        check_int(f"{self.method} steps", self.steps, 1)
        require(
            self.method == "pgd" or self.steps == 1,
            f"fgsm steps={self.steps} is invalid: FGSM takes exactly 1 step; use pgd",
        )
        if self.step_size is not None:
            check_float(f"{self.method} step_size", self.step_size, 0.0)

    @property
    def name(self) -> str:
        """Stable name used in reports and thresholds, e.g. 'fgsm_linf_0.2', 'pgd20_l2_1.5'."""
        prefix = "fgsm" if self.method == "fgsm" else f"pgd{self.steps}"
        return f"{prefix}_{self.norm}_{self.epsilon:g}"

    @property
    def effective_step_size(self) -> float:
        if self.method == "fgsm":
            return self.epsilon
        if self.step_size is not None:
            return self.step_size
        return 2.5 * self.epsilon / self.steps

    @classmethod
    def from_name(cls, name: str) -> AttackConfig:
        """Parses 'fgsm_linf_0.2' or 'pgd20_l2_1.5' (PGD-k with k steps)."""
        match = _ATTACK_NAME.match(name.strip())
        require(
            match is not None,
            f"attack name {name!r} is unknown: use fgsm_<linf|l2>_<eps> or "
            f"pgd<steps>_<linf|l2>_<eps>, e.g. fgsm_linf_0.2 or pgd20_linf_0.2",
        )
        method, steps, norm, eps = match.groups()
        if method == "fgsm":
            require(steps == "", f"attack name {name!r} is invalid: FGSM takes no step count")
            return cls(method="fgsm", norm=norm, epsilon=float(eps))
        require(steps != "", f"attack name {name!r} is invalid: PGD needs a step count, e.g. pgd20")
        return cls(method="pgd", norm=norm, epsilon=float(eps), steps=int(steps))
