"""One loaded model and the attacks it faces on each batch.

``AttackPlan`` says what runs: attacks on every example (the references and the epsilon
sweep), each fused with its measurements into one traced function (predictions under
attack, a random-noise control at the same epsilon, the applied norms); and the cascade the
worst case is judged over, where each attack runs only on the examples every earlier attack
failed on, as AutoAttack does. Each function is traced once per model, for any batch size.
"""

import dataclasses
import functools
from typing import Collection, Dict, Optional, Tuple

import numpy as np
import tensorflow as tf

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.base.attack_config import AttackConfig
from robustfx.base.evaluation_config import EvaluationConfig
from robustfx.base.serialization import to_dict
from robustfx.robustness.attacks import dispatch, geometry
from robustfx.robustness.models.model_interface import ModelInterface
from robustfx.robustness.models.saved_models import load_logits_fn
from robustfx.robustness.verdict import counts as robustness_counts
from robustfx.robustness.verdict.certified_pass import NO_VERIFIER, CertifiedPass


@dataclasses.dataclass(frozen=True)
class AttackPlan:
    """What runs on each batch."""

    independent: Tuple[AttackConfig, ...]  # on every example, reported on their own
    cascade: Tuple[AttackConfig, ...]  # in order, each on the examples still correct
    worst: Tuple[str, ...]  # independent attacks that also count in the worst case
    verify: str = NO_VERIFIER  # the verifier's method, or 'none'
    norm: str = "linf"  # the threat model's norm, for the verifier
    radii: Tuple[float, ...] = ()  # where it certifies: the threat model's epsilon first
    # The models (by role) it certifies: those ``certified_pass.problem`` found readable.
    certified_roles: Tuple[str, ...] = ()

    @classmethod
    def of(cls, config: EvaluationConfig) -> "AttackPlan":
        references = config.references()
        threat = config.fgsm_reference()  # the cascade's first attack's norm and epsilon
        sweep = [threat.epsilon * fraction for fraction in config.epsilon_sweep]
        return cls(
            independent=references + config.sweep(),
            cascade=config.cascade(),
            worst=tuple(attack.name for attack in references),
            verify=config.verify,
            norm=threat.norm,
            radii=tuple(dict.fromkeys([threat.epsilon, *sorted(sweep, reverse=True)])),
        )

    def to_dict(self) -> dict:
        return {
            "independent": [to_dict(a) for a in self.independent],
            "cascade": [to_dict(a) for a in self.cascade],
            "worst": list(self.worst),
            "verify": self.verify,
            "norm": self.norm,
            "radii": list(self.radii),
            "certified_roles": list(self.certified_roles),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "AttackPlan":
        return cls(
            tuple(AttackConfig(**a) for a in data["independent"]),
            tuple(AttackConfig(**a) for a in data["cascade"]),
            tuple(data["worst"]),
            data.get("verify", NO_VERIFIER),
            data.get("norm", "linf"),
            tuple(data.get("radii", ())),
            tuple(data.get("certified_roles", ())),
        )


class ModelUnderAttack:
    """A SavedModel's attack signature (``model_interface``) with its traced attacks."""

    def __init__(
        self,
        model_dir: str,
        plan: AttackPlan,
        seed: int,
        num_classes: int,
        jit_compile: bool = False,
        interface: Optional[dict] = None,
        role: str = "",
    ):
        """Loads the model; each attack traces on its first batch.

        Args:
          interface: how to call it (``ModelInterface.to_dict()``); by default what its
            ``saved_model.pb`` says, its output taken for logits.
          role: the model's role; the plan's verifier certifies it when the plan names it.
          jit_compile: compile each attack with XLA. Off by default: on CPU it made APGD
            several times slower (``xla_vs_graph_apgd`` in benchmarks/results.json); for
            accelerators.
        """
        self.plan = plan
        self.logits_fn, self.image_shape = load_logits_fn(
            model_dir, ModelInterface.from_dict(interface) if interface else None
        )
        signature = [
            tf.TensorSpec([None, *self.image_shape], tf.float32),
            tf.TensorSpec([None], tf.int64),
        ]

        def predict(x):
            return tf.argmax(self.logits_fn(x), axis=-1)

        def traced(attack: AttackConfig, noise_control: bool):
            """The attack fused with its measurements, traced once for any batch size."""

            def run(images, labels):
                adversarial = dispatch.run_attack(
                    attack, self.logits_fn, images, labels, seed, num_classes
                )
                out = {
                    "predictions": predict(adversarial),
                    "norms": geometry.perturbation_norm(adversarial, images, attack.norm),
                }
                if noise_control:
                    noisy = geometry.random_noise(images, attack.epsilon, attack.norm, seed)
                    out["noise_predictions"] = predict(noisy)
                return out

            # Each attack's function traces once. The partial gives each its own key in
            # TensorFlow's retracing detector, which otherwise counts the first traces of
            # all the attacks' functions (one code object) as retracing of one function.
            return tf.function(
                functools.partial(run), input_signature=signature, jit_compile=jit_compile
            )

        self._independent = {a.name: traced(a, noise_control=True) for a in plan.independent}
        self._cascade = {a.name: traced(a, noise_control=False) for a in plan.cascade}
        # The same for the clean predictions: every instance's own key, or a process that
        # judges several models (the gate's rounds, the tests) reads as retracing one function.
        self._predict = tf.function(functools.partial(predict), input_signature=signature[:1])
        self._verifier = None
        if role in plan.certified_roles and plan.verify != NO_VERIFIER:
            self._verifier = CertifiedPass(model_dir, plan.verify, plan.norm, plan.radii)

    def _run_cascade(self, images, labels, clean_ok: np.ndarray) -> Dict[str, dict]:
        results, remaining = {}, clean_ok
        for name, run in self._cascade.items():
            correct = np.zeros(len(clean_ok), bool)
            norms = np.zeros(len(clean_ok), np.float32)
            index = np.flatnonzero(remaining)
            if index.size:
                out = run(tf.gather(images, index), tf.gather(labels, index))
                correct[index] = out["predictions"].numpy() == labels.numpy()[index]
                norms[index] = out["norms"].numpy()
            results[name] = {"correct": correct, "norms": norms}
            remaining = correct
        return results

    def predict(self, images) -> np.ndarray:
        """The predicted classes of a batch of float images in [0, 1]."""
        return self._predict(images).numpy()

    def count(
        self,
        images,
        labels,
        num_classes: int,
        transfer_images=None,
        corrupted: Optional[robustness_counts.CorruptedPredictions] = None,
        only: Optional[Collection[str]] = None,
    ) -> Tuple[robustness_counts.RobustnessCounts, Dict[str, np.ndarray]]:
        """The batch's counts, and per example whether it was classified correctly
        (``clean``), survived every attack (``worst``) and each attack run on every example
        (``robust``: name -> bool), its scores under the natural corruptions
        (``corruption``: ``counts.corruption_scores``) and, when the verifier ran, whether
        it was certified at the threat model (``certified``), for paired comparisons and the
        rules that decide early.

        Args:
          corrupted: this model's predictions under each corruption and severity.
          only: the plan's attacks on every example to run (all when None), e.g. without
            the epsilon sweep beyond the validity checks' sample.
        """
        label_values = labels.numpy()
        clean = self._predict(images).numpy()
        attacked = {
            name: {key: value.numpy() for key, value in run(images, labels).items()}
            for name, run in self._independent.items()
            if only is None or name in only
        }
        cascade = self._run_cascade(images, labels, clean == label_values)
        transfer = None if transfer_images is None else self._predict(transfer_images).numpy()
        certified = self._verifier.certified(images, label_values) if self._verifier else None
        outcomes = robustness_counts.survivors(
            label_values, clean, attacked, cascade, self.plan.worst
        )
        counts = robustness_counts.count_batch(
            label_values,
            clean,
            attacked,
            num_classes,
            transfer,
            cascade,
            outcomes=outcomes,
            corrupted=corrupted,
            certified=certified,
        )
        outcomes["robust"] = {
            name: result["predictions"] == label_values for name, result in attacked.items()
        }
        outcomes["corruption"] = robustness_counts.corruption_scores(label_values, corrupted or {})
        if certified:
            outcomes["certified"] = certified[robustness_counts.threat_radius(certified)]
        return counts, outcomes
