"""The multi-worker Trainer on Vertex AI: the compiled Trainer task launches a custom job of
a chief and N-1 workers instead of training in its own pod.

TFX's Vertex AI Trainer executor (``tfx.extensions.google_cloud_ai_platform``) submits the
job described in the Trainer's ``custom_config`` and waits for it. Vertex gives each replica
a ``TF_CONFIG``; each runs TFX's own Trainer executor, and so ``run_fn``, in the project's
image. ``run_fn`` then trains under MultiWorkerMirroredStrategy, the chief exports the model
and the other workers write theirs to temporary directories (see ``trainer/run.py``). The
global batch stays the configured ``--batch-size``.
"""

import json
from typing import Any, Dict, List

from tfx.dsl.components.base import executor_spec
from tfx.extensions.google_cloud_ai_platform import constants as vertex_constants
from tfx.extensions.google_cloud_ai_platform.trainer import executor as vertex_executor

from robustfx.kubeflow.config import AcceleratorConfig, KubeflowConfig


def machine_spec(machine_type: str, accelerator: AcceleratorConfig) -> Dict[str, Any]:
    """One replica's Vertex machine, with the Trainer's accelerators."""
    spec: Dict[str, Any] = {"machine_type": machine_type}
    if accelerator.kind != "none":
        spec["accelerator_type"] = accelerator.type
        spec["accelerator_count"] = accelerator.count
    return spec


def worker_pool_specs(
    replicas: int, machine_type: str, accelerator: AcceleratorConfig, image: str
) -> List[Dict[str, Any]]:
    """Vertex's worker pools: pool 0 is the chief (one replica), pool 1 the other workers."""
    pool = {
        "machine_spec": machine_spec(machine_type, accelerator),
        "container_spec": {"image_uri": image},
    }
    return [
        {**pool, "replica_count": 1},
        {**pool, "replica_count": replicas - 1},
    ]


def run_on_vertex(trainer: Any, kubeflow: KubeflowConfig) -> None:
    """Turns the graph's Trainer into TFX's Vertex AI Trainer with the job it launches."""
    replicas = kubeflow.trainer_replicas
    trainer.executor_spec = executor_spec.ExecutorClassSpec(vertex_executor.GenericExecutor)
    custom_config = json.loads(trainer.exec_properties["custom_config"])
    custom_config.update(
        {
            vertex_constants.ENABLE_VERTEX_KEY: True,
            vertex_constants.VERTEX_REGION_KEY: replicas.region,
            vertex_executor.TRAINING_ARGS_KEY: {
                "project": replicas.project,
                "worker_pool_specs": worker_pool_specs(
                    replicas.replicas, replicas.machine_type, kubeflow.accelerator, kubeflow.image
                ),
            },
        }
    )
    trainer.exec_properties["custom_config"] = json.dumps(custom_config, sort_keys=True)
