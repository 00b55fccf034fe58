"""``AttackConfig``: one attack, named by every parameter that changes it.

Names are canonical and parse back to the same config, so two different attacks never share
a name. Parameters left at their defaults are not spelled out:

  fgsm_linf_0.2                FGSM
  pgd20_linf_0.2               PGD, 20 steps of 2.5 eps / 20, no random start
  pgd20-rs-s0.01_linf_0.2      ... with a random start and a step of 0.01
  apgdce100_linf_0.2           APGD on the cross-entropy loss (Croce and Hein 2020)
  apgddlr100-r2_l2_1.5         APGD on the DLR loss, 2 restarts
  apgdt100-t9_linf_0.2         targeted APGD on the DLR loss, 9 target classes (APGD-T)
  square5000_linf_0.2          Square attack, 5,000 queries (black-box)
"""

from __future__ import annotations

import dataclasses
import re
from typing import Optional

from robustfx.base.validation import canonical_norm, check_float, check_int, require

ATTACK_METHODS = ("fgsm", "pgd", "apgdce", "apgddlr", "apgdt", "square")
GRADIENT_FREE = ("square",)
# Largest sensible perturbation budget per norm, for images scaled to [0, 1]. An L-infinity
# epsilon of 1 already allows any image; an L2 epsilon is measured over all pixels, so it
# is larger. An epsilon above the bound almost always means the wrong norm was named.
MAX_EPSILON = {"linf": 1.0, "l2": 64.0}
DEFAULT_RESTARTS, DEFAULT_TARGETS, DEFAULT_P_INIT = 1, 9, 0.8
_NAME = re.compile(
    r"^(?P<method>fgsm|pgd|apgdce|apgddlr|apgdt|square)(?P<steps>\d*)"
    r"(?P<options>(?:-(?:rs|s[0-9.]+|r\d+|t\d+|p[0-9.]+))*)"
    r"_(?P<norm>linf|l2)_(?P<eps>\d+(?:\.\d+)?)$"
)
_EXAMPLES = "e.g. fgsm_linf_0.2, pgd20-rs_linf_0.2, apgdce100_linf_0.2, apgdt100-t9_linf_0.2"


@dataclasses.dataclass(frozen=True)
class AttackConfig:
    """One attack.

    Attributes:
      method: fgsm, pgd, apgdce (APGD, cross-entropy), apgddlr (APGD, DLR loss), apgdt
        (targeted APGD on the DLR loss) or square (score-based, black-box).
      norm: 'linf' or 'l2': the ball the perturbation must stay inside.
      epsilon: radius of that ball, in [0, 1]-scaled pixel units.
      steps: iterations (FGSM: 1); for square, the query budget.
      step_size: PGD step length; None means 2.5 * epsilon / steps (Madry et al.).
      random_start: PGD starts from a uniformly random point in the ball.
      restarts: APGD restarts, each from a new random point, on the examples still robust.
      targets: APGD-T target classes (the highest non-true logits), capped at classes - 1.
      p_init: the Square attack's initial fraction of pixels per square.
    """

    method: str = "fgsm"
    norm: str = "linf"
    epsilon: float = 0.2
    steps: int = 1
    step_size: Optional[float] = None
    random_start: bool = False
    restarts: int = DEFAULT_RESTARTS
    targets: int = DEFAULT_TARGETS
    p_init: float = DEFAULT_P_INIT

    def __post_init__(self) -> None:
        require(
            self.method in ATTACK_METHODS,
            f"attack method={self.method!r} is unknown: use one of {', '.join(ATTACK_METHODS)}",
        )
        object.__setattr__(self, "norm", canonical_norm("attack norm", self.norm))
        check_float(f"{self.method} epsilon", self.epsilon, 0.0, MAX_EPSILON[self.norm])
        check_int(f"{self.method} steps", self.steps, 1)
        require(
            self.method != "fgsm" or self.steps == 1,
            f"fgsm steps={self.steps} is invalid: FGSM takes exactly 1 step; use pgd",
        )
        if self.step_size is not None:
            require(self.method == "pgd", f"{self.method} takes no step_size: APGD adapts it")
            check_float(f"{self.method} step_size", self.step_size, 0.0)
        require(
            self.method == "pgd" or not self.random_start,
            f"{self.method} takes no random_start option (APGD always starts at random)",
        )
        check_int(f"{self.method} restarts", self.restarts, 1)
        check_int(f"{self.method} targets", self.targets, 1)
        check_float(f"{self.method} p_init", self.p_init, 0.0, 1.0)

    @property
    def name(self) -> str:
        """The canonical name, e.g. 'fgsm_linf_0.2' or 'apgdt100-t9_linf_0.2'."""
        steps = "" if self.method == "fgsm" else str(self.steps)
        options = []
        if self.random_start:
            options.append("rs")
        if self.step_size is not None:
            options.append(f"s{self.step_size:g}")
        if self.restarts != DEFAULT_RESTARTS:
            options.append(f"r{self.restarts}")
        if self.method == "apgdt":
            options.append(f"t{self.targets}")
        if self.p_init != DEFAULT_P_INIT:
            options.append(f"p{self.p_init:g}")
        suffix = "".join(f"-{option}" for option in options)
        return f"{self.method}{steps}{suffix}_{self.norm}_{self.epsilon:g}"

    @property
    def effective_step_size(self) -> float:
        if self.method == "fgsm":
            return self.epsilon
        if self.step_size is not None:
            return self.step_size
        return 2.5 * self.epsilon / self.steps

    @property
    def uses_gradients(self) -> bool:
        return self.method not in GRADIENT_FREE

    def at_epsilon(self, epsilon: float) -> AttackConfig:
        """The same attack with another radius."""
        return dataclasses.replace(self, epsilon=round(float(epsilon), 6))

    @classmethod
    def from_name(cls, name: str) -> AttackConfig:
        """Parses a canonical name (see the module docstring)."""
        match = _NAME.match(name.strip())
        require(match is not None, f"attack name {name!r} is unknown: use {_EXAMPLES}")
        method, steps = match["method"], match["steps"]
        require(
            (steps == "") == (method == "fgsm"),
            f"attack name {name!r} is invalid: "
            + ("FGSM takes no step count" if method == "fgsm" else f"{method} needs a count"),
        )
        kwargs = dict(method=method, norm=match["norm"], epsilon=float(match["eps"]))
        if steps:
            kwargs["steps"] = int(steps)
        for option in filter(None, match["options"].split("-")):
            key, value = option[0], option[1:]
            if option == "rs":
                kwargs["random_start"] = True
            elif key == "s":
                kwargs["step_size"] = float(value)
            elif key == "r":
                kwargs["restarts"] = int(value)
            elif key == "t":
                kwargs["targets"] = int(value)
            else:
                kwargs["p_init"] = float(value)
        attack = cls(**kwargs)
        require(
            attack.name == name.strip(),
            f"attack name {name!r} is not canonical: write it as {attack.name!r}",
        )
        return attack
