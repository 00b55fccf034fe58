"""Collects the few examples the robustness report shows: clean and perturbed images, the
predictions of candidate and baseline, conv-layer activations before and after the attack,
and one example under every judged natural corruption at every severity.

The perturbations are crafted white-box against the candidate; the baseline's predictions on
the same perturbed images are shown beside them, labelled as such.
"""

import dataclasses
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.base import keys
from robustfx.base.attack_config import AttackConfig
from robustfx.base.corruption_sets import SEVERITIES
from robustfx.robustness.attacks import dispatch
from robustfx.robustness.corruptions import registry
from robustfx.robustness.models.examples import read_examples
from robustfx.robustness.models.saved_models import load_logits_fn


@dataclasses.dataclass
class ReportSamples:
    """Arrays for the report's grids (n examples)."""

    attack_name: str
    class_names: Sequence[str]
    images: np.ndarray  # [n, H, W, C] clean, in [0, 1]
    adversarial: np.ndarray  # [n, H, W, C] perturbed against the candidate
    labels: np.ndarray  # [n]
    candidate_clean: np.ndarray  # [n] predicted classes
    candidate_adversarial: np.ndarray
    baseline_clean: Optional[np.ndarray] = None
    baseline_adversarial: Optional[np.ndarray] = None
    # layer name -> [n, h, w, channels], for the candidate
    activations_clean: Dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    activations_adversarial: Dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    # The first example under each judged corruption at every severity (0 is the clean
    # image): corruption -> [severities + 1, H, W, C], and the candidate's predictions.
    corrupted: Dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    corrupted_predictions: Dict[str, np.ndarray] = dataclasses.field(default_factory=dict)


def _activations(saved_model, images) -> Dict[str, np.ndarray]:
    signature = saved_model.signatures.get(keys.ACTIVATIONS_SIGNATURE)
    if signature is None:  # models exported elsewhere may lack it; the report says so
        return {}
    return {name: value.numpy() for name, value in signature(image=images).items()}


def corruption_ladders(
    image, corruptions: Sequence[str], predict
) -> Tuple[Dict[str, np.ndarray], Dict[str, np.ndarray]]:
    """``image`` [1, H, W, C] under each corruption at severities 0 to 5, and ``predict``'s
    classes for each: (corruption -> [6, H, W, C], corruption -> [6])."""
    import tensorflow as tf

    ladders, predictions = {}, {}
    for name in corruptions:
        ladder = tf.concat(
            [registry.apply(name, image, severity) for severity in (0, *SEVERITIES)], axis=0
        )
        ladders[name], predictions[name] = ladder.numpy(), predict(ladder)
    return ladders, predictions


def collect_samples(
    file_pattern: str,
    model_dir: str,
    attack: AttackConfig,
    class_names: Sequence[str],
    count: int,
    baseline_model_dir: Optional[str] = None,
    seed: int = 0,
    raw_image_shape: Optional[Sequence[Optional[int]]] = None,
    corruptions: Sequence[str] = (),
) -> ReportSamples:
    """Attacks the first ``count`` examples and records what the report shows; shows the
    first example under each of ``corruptions`` at every severity."""
    import tensorflow as tf

    logits_fn, image_shape = load_logits_fn(model_dir)
    images, labels = read_examples(file_pattern, count, image_shape, raw_image_shape)
    adversarial = dispatch.run_attack(attack, logits_fn, images, labels, seed)

    def predict(fn, x):
        return tf.argmax(fn(x), axis=-1).numpy()

    samples = ReportSamples(
        attack_name=attack.name,
        class_names=list(class_names),
        images=images.numpy(),
        adversarial=adversarial.numpy(),
        labels=labels.numpy(),
        candidate_clean=predict(logits_fn, images),
        candidate_adversarial=predict(logits_fn, adversarial),
        activations_clean=_activations(logits_fn.saved_model, images),
        activations_adversarial=_activations(logits_fn.saved_model, adversarial),
    )
    samples.corrupted, samples.corrupted_predictions = corruption_ladders(
        images[:1], corruptions, lambda x: predict(logits_fn, x)
    )
    if baseline_model_dir:
        baseline_fn, _ = load_logits_fn(baseline_model_dir)
        samples.baseline_clean = predict(baseline_fn, images)
        samples.baseline_adversarial = predict(baseline_fn, adversarial)
    return samples
