"""The verifier's pass of one evaluation: which examples of each batch are certified, at the
threat model and at each radius of the epsilon sweep, by the method ``--verify`` names.

A certified example is correct on every point of the ball (``robustness.certification``):
the certified accuracy is a proven lower bound beside the attacks' worst case, an upper
bound. ``problem`` says, before any batch, why a model gets no certificate (a layer the
verifier does not model, no Keras metadata, a signature that computes other logits): then
its certified accuracy is not reported at all, never guessed.
"""

from typing import Dict, Optional, Sequence

import numpy as np

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.robustness.certification import (
    UnsupportedModelError,
    certify,
    check_against_signature,
    load_network,
)

NO_VERIFIER = "none"


def radius_key(epsilon: float) -> str:
    """How a radius names its entry in the counts and in ``metrics.json`` ('0.05')."""
    return f"{epsilon:g}"


def problem(model_dir: str, logits_fn, images: np.ndarray) -> Optional[str]:
    """Why the model at ``model_dir`` cannot be certified (one line naming the layer or the
    mismatch), or None when its Keras layers are read and compute its own served logits on
    ``images``."""
    try:
        network, _keep = load_network(model_dir)
        check_against_signature(network, logits_fn, images)
    except UnsupportedModelError as error:
        return str(error)
    return None


class CertifiedPass:
    """One model's verifier: ``certified(images, labels)`` per radius."""

    def __init__(self, model_dir: str, method: str, norm: str, radii: Sequence[float]):
        """Reads the model's network (its weights are the restored SavedModel's variables,
        kept alive here).

        Args:
          method: 'ibp' or 'crown' (``certification.METHODS``).
          norm: the threat model's norm.
          radii: the threat model's epsilon and the sweep's.
        """
        self.method, self.norm, self.radii = method, norm, tuple(radii)
        self._network, self._keep = load_network(model_dir)

    def certified(self, images, labels) -> Dict[str, np.ndarray]:
        """Radius (``radius_key``) -> bool [batch]: the examples proven robust in the ball."""
        images, labels = np.asarray(images, np.float32), np.asarray(labels)
        return {
            radius_key(epsilon): certify(
                self._network,
                images,
                labels,
                epsilon,
                self.norm,
                self.method,
                batch_size=max(1, len(images)),
            ).certified
            for epsilon in self.radii
        }
