"""``LimitsConfig``: what an evaluation of an outside model may cost before it is stopped.

A model that passes the graph check can still be slow or greedy on purpose (a long
``tf.while_loop``, a huge tensor). With a limit set, ``robustfx gate`` evaluates in a child
process that it watches, and stops it at the first breach.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Optional

from robustfx.base.settings import check_settings, setting

TIME_LIMIT_FLAG, MEMORY_LIMIT_FLAG = "--time-limit", "--memory-limit"


@dataclasses.dataclass(frozen=True)
class LimitsConfig:
    """Wall time and resident memory an evaluation may use; None is no limit."""

    CLI_GROUP: ClassVar[str] = "limits on what the evaluated models may cost"

    time_limit: Optional[float] = setting(
        None,
        flag=TIME_LIMIT_FLAG,
        parse=float,
        at_least=1.0,
        metavar="SECONDS",
        help="Stop the evaluation and refuse the model (exit 2) after this many seconds of "
        "wall time, counted from the start of its process (default: no limit).",
    )
    memory_limit: Optional[int] = setting(
        None,
        flag=MEMORY_LIMIT_FLAG,
        parse=int,
        at_least=1,
        metavar="MB",
        help="Stop the evaluation and refuse the model (exit 2) when its processes hold more "
        "than this many MB of resident memory, sampled every 0.2 s (default: no limit).",
    )

    def __post_init__(self) -> None:
        check_settings(self, "limits")

    @property
    def active(self) -> bool:
        return self.time_limit is not None or self.memory_limit is not None
