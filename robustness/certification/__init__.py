"""Certified robustness: proofs that no perturbation in the threat model's ball changes an
example's class, the lower side of the bracket whose upper side is the attacks' worst case.

- ``network``, ``operations``: the network as primitive operations;
- ``keras_layers``, ``keras_models``, ``saved_model``: read from a Keras model or a Keras 2
  SavedModel (as data; an unsupported layer is refused by name, never approximated);
- ``input_set``: the L-infinity or L2 ball intersected with the [0, 1] pixel box;
- ``intervals`` (IBP) and ``crown`` with ``relaxations``: the bounds;
- ``memory``: the batch and rows each pass carries within a byte budget;
- ``certify``: per-example certificates by IBP or CROWN.

Pure TensorFlow; no TFX.
"""

from robustfx.robustness.certification.certify import METHODS, Certificate, certify
from robustfx.robustness.certification.keras_layers import UnsupportedModelError
from robustfx.robustness.certification.keras_models import from_keras
from robustfx.robustness.certification.saved_model import check_against_signature, load_network

__all__ = [
    "METHODS",
    "Certificate",
    "UnsupportedModelError",
    "certify",
    "check_against_signature",
    "from_keras",
    "load_network",
]
