"""Chooses the tf.distribute strategy from what the hardware reports: TPU > GPUs > CPU."""

import logging
import os
from typing import Callable, List, Optional

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


def select_strategy(
    accelerator: str = "auto",
    list_gpus: Callable[[], List] = lambda: tf.config.list_logical_devices("GPU"),
    resolve_tpu: Callable[[], Optional[tf.distribute.Strategy]] = _resolve_tpu,
    environ: Optional[dict] = None,
) -> tf.distribute.Strategy:
    """Picks the distribution strategy.

    Args:
      accelerator: 'auto' (detect), 'tpu', 'gpu' or 'cpu'. 'tpu' and 'gpu' fail loudly when
        the hardware is missing, rather than silently training on the CPU.
      list_gpus: returns the visible GPU devices (injectable for tests).
      resolve_tpu: returns a TPUStrategy or None (injectable for tests).
      environ: the environment to look for TPU hints in; defaults to ``os.environ``.

    Returns:
      TPUStrategy when a TPU resolves, MirroredStrategy over all GPUs when there are any,
      otherwise the default (single-device) strategy.

    Raises:
      RuntimeError: the accelerator asked for is not present.
    """
    environ = os.environ if environ is None else environ
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
