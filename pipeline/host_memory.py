"""How much memory this machine (or its container) leaves a run, and the refusal of a run
that would not fit: a clear error before any component starts, never a kill by the kernel
half an hour in."""

import logging
from typing import Optional, Sequence

from robustfx.base.run_config import RunConfig
from robustfx.base.validation import ConfigError
from robustfx.data.metadata import DatasetInfo
from robustfx.trainer import memory_plan
from robustfx.trainer.custom_config import output_image_shape

_CGROUP_LIMITS = (
    ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),  # cgroup v2
    (
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
        "/sys/fs/cgroup/memory/memory.usage_in_bytes",
    ),  # cgroup v1
)


def _read_int(path: str) -> Optional[int]:
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def available_memory(
    meminfo: str = "/proc/meminfo", cgroups: Sequence[tuple] = _CGROUP_LIMITS
) -> Optional[int]:
    """Bytes a new allocation can get: the kernel's MemAvailable, or less when a container
    limit is nearer; None where neither can be read."""
    candidates = []
    try:
        with open(meminfo) as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    candidates.append(int(line.split()[1]) * 1024)
    except OSError:
        pass
    for limit_file, usage_file in cgroups:
        limit, usage = _read_int(limit_file), _read_int(usage_file)
        if limit is not None and usage is not None and limit < 2**60:
            candidates.append(max(0, limit - usage))
    return min(candidates) if candidates else None


def check_memory(
    config: RunConfig, dataset: DatasetInfo, available: Optional[int] = None
) -> memory_plan.MemoryEstimate:
    """Refuses (ConfigError, exit 2) a run whose estimate does not fit, naming the flag."""
    image_shape = output_image_shape(dataset.image_shape, config.data.resize)
    need = memory_plan.estimate(
        config.model,
        config.adversarial,
        image_shape,
        dataset.num_classes,
        config.training.batch_size,
        config.evaluation.batch_size,
    )
    available = available_memory() if available is None else available
    logging.info(
        "Memory estimate: training %.1f GiB, attack suite %.1f GiB; available %s",
        need.training / 2**30,
        need.attack / 2**30,
        "unknown" if available is None else f"{available / 2**30:.1f} GiB",
    )
    if available is not None:
        problem = memory_plan.refusal(
            need, available, config.training.batch_size, config.evaluation.batch_size
        )
        if problem:
            raise ConfigError(problem)
    return need
