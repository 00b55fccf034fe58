"""The ProductionModel component: the baseline every run is judged against, found the same
way by the local runner, open-source Kubeflow Pipelines and Vertex AI (no resolver task)."""

import uuid
from typing import Optional

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec

from robustfx.components.production_model import executor, spec


class ProductionModel(base_component.BaseComponent):
    """Looks in the Pusher's serving directory for the model that serves.

    Its output points at the newest pushed version when the project blessed it, or records
    why there is no usable production model (none yet; unreadable; not blessed). It must
    never come from a cache: ``lookup`` is new at every construction, and compiled specs
    turn caching off for its task.
    """

    SPEC_CLASS = spec.ProductionModelSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, serving_dir: str, lookup: Optional[str] = None):
        super().__init__(
            spec=spec.ProductionModelSpec(
                serving_dir=serving_dir,
                lookup=lookup if lookup is not None else uuid.uuid4().hex,
                production=types.Channel(type=spec.ProductionModelPointer),
            )
        )
