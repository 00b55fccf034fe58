"""Chooses the tf.distribute strategy from what the hardware and the cluster report:
a multi-worker cluster (``TF_CONFIG``) > TPU > GPUs > CPU.

Vertex AI and Kubeflow multi-worker jobs (TFJob) give each replica a ``TF_CONFIG`` naming the
cluster and the replica's own task. With more than one chief or worker in it, training runs
under ``MultiWorkerMirroredStrategy``, which mirrors over every GPU of every worker (or the
CPU), all-reducing gradients between them.
"""

import json
import logging
import os
from typing import Callable, List, Mapping, Optional

import tensorflow as tf

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)

# Environment variables that Cloud TPU VMs, GKE TPU pods and Colab set. Without one of them
# (or accelerator='tpu'), TPUClusterResolver is not even tried: on a plain machine it would
# wait on the GCE metadata server.
_TPU_ENV_VARS = ("TPU_NAME", "KUBE_GOOGLE_CLOUD_TPU_ENDPOINTS", "COLAB_TPU_ADDR", "TPU_WORKER_ID")


def _resolve_tpu() -> Optional[tf.distribute.Strategy]:
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(
            tpu=os.environ.get("TPU_NAME", "")
        )
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as error:
        logging.warning("No TPU resolved (%s); falling back to GPUs or CPU.", error)
        return None
    return tf.distribute.TPUStrategy(resolver)


def _tf_config(environ: Mapping[str, str]) -> dict:
    """``TF_CONFIG`` parsed ({} when unset)."""
    try:
        return json.loads(environ.get("TF_CONFIG") or "{}")
    except json.JSONDecodeError as error:
        raise RuntimeError(f"TF_CONFIG is not valid JSON: {error}") from None


def cluster_workers(environ: Mapping[str, str]) -> int:
    """How many training replicas (chief and workers) ``TF_CONFIG`` names; 0 without one."""
    cluster = _tf_config(environ).get("cluster") or {}
    return sum(len(cluster.get(kind) or []) for kind in ("chief", "worker"))


def is_chief(environ: Mapping[str, str]) -> bool:
    """Whether this replica writes the model: the chief, or worker 0 of a cluster without a
    chief; always true outside a cluster."""
    tf_config = _tf_config(environ)
    task = tf_config.get("task") or {}
    cluster = tf_config.get("cluster") or {}
    if not task:
        return True
    if task.get("type") == "chief":
        return True
    return (
        task.get("type") == "worker" and int(task.get("index", 0)) == 0 and not cluster.get("chief")
    )


def select_strategy(
    accelerator: str = "auto",
    list_gpus: Callable[[], List] = lambda: tf.config.list_logical_devices("GPU"),
    resolve_tpu: Callable[[], Optional[tf.distribute.Strategy]] = _resolve_tpu,
    environ: Optional[Mapping[str, str]] = None,
    multi_worker: Callable[[], tf.distribute.Strategy] = (
        tf.distribute.MultiWorkerMirroredStrategy
    ),
) -> tf.distribute.Strategy:
    """Picks the distribution strategy. Call it before any other TensorFlow op: a
    multi-worker strategy configures the runtime's collectives at start-up.

    Args:
      accelerator: 'auto' (detect), 'tpu', 'gpu' or 'cpu'. 'tpu' and 'gpu' fail loudly when
        the hardware is missing, rather than silently training on the CPU.
      list_gpus: returns the visible GPU devices (injectable for tests).
      resolve_tpu: returns a TPUStrategy or None (injectable for tests).
      environ: the environment to read ``TF_CONFIG`` and TPU hints from; defaults to
        ``os.environ``.
      multi_worker: builds the multi-worker strategy (injectable for tests).

    Returns:
      MultiWorkerMirroredStrategy when ``TF_CONFIG`` names more than one replica (unless a
      TPU is asked for), TPUStrategy when a TPU resolves, MirroredStrategy over all GPUs
      when there are any, otherwise the default (single-device) strategy.

    Raises:
      RuntimeError: the accelerator asked for is not present, or TF_CONFIG is malformed.
    """
    environ = os.environ if environ is None else environ
    if accelerator != "tpu" and cluster_workers(environ) > 1:
        if accelerator == "gpu" and not list_gpus():
            raise RuntimeError("accelerator='gpu' but TensorFlow reports no GPU")
        return multi_worker()
    if accelerator == "tpu" or (
        accelerator == "auto" and any(environ.get(name) for name in _TPU_ENV_VARS)
    ):
        strategy = resolve_tpu()
        if strategy is not None:
            return strategy
        if accelerator == "tpu":
            raise RuntimeError("accelerator='tpu' but no TPU could be resolved")
    if accelerator in ("auto", "gpu"):
        gpus = list_gpus()
        if gpus:
            return tf.distribute.MirroredStrategy([device.name for device in gpus])
        if accelerator == "gpu":
            raise RuntimeError("accelerator='gpu' but TensorFlow reports no GPU")
    return tf.distribute.get_strategy()
