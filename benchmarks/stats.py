"""How every benchmark figure is reported: the median of its repetitions, with min and max."""

import statistics
from typing import List


def summary(values: List[float], **extra) -> dict:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "repetitions": len(values),
        **extra,
    }
