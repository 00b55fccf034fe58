"""The evaluation-validity checks (Carlini et al. 2019) on hand-made metrics: each check
passes on a sound evaluation and fails, naming itself, on the symptom it looks for."""

import copy

import pytest

from robustfx.base.attack_config import AttackConfig
from robustfx.base.evaluation_config import EvaluationConfig
from robustfx.robustness.verdict.validity import is_valid, validity_checks

CONFIG = EvaluationConfig(
    attacks=(
        AttackConfig.from_name("apgdce20_linf_0.2"),
        AttackConfig.from_name("square300_linf_0.2"),
    ),
    epsilon_sweep=(0.5,),
)


def _sound():
    return {
        "num_examples": 1000,
        "clean_accuracy": 0.98,
        "worst_case_robust_accuracy": 0.78,
        "cascade": [
            {"attack": "apgdce20_linf_0.2", "robust_accuracy": 0.80, "share": 0.18},
            {"attack": "square300_linf_0.2", "robust_accuracy": 0.79, "share": 0.01},
        ],
        "attacks": {
            "fgsm_linf_0.2": {"robust_accuracy": 0.88, "noise_accuracy": 0.97},
            "apgdce20_linf_0.1": {"robust_accuracy": 0.93},
            "apgdce20_linf_1": {"robust_accuracy": 0.0},
        },
    }


def _failed(metrics):
    return {c.rule for c in validity_checks(metrics, CONFIG, num_classes=10) if not c.passed}


def test_a_sound_evaluation_is_valid():
    checks = validity_checks(_sound(), CONFIG, num_classes=10)
    assert is_valid(checks) and len(checks) == 5


def test_certificates_are_checked_only_when_the_verifier_ran():
    certified = {**_sound(), "certified_accuracy": 0.3, "certified_broken": 0}
    checks = validity_checks(certified, CONFIG, num_classes=10)
    assert is_valid(checks) and checks[-1].rule == "validity:certificates_hold"


@pytest.mark.parametrize(
    "change, failed",
    [
        (lambda m: m["attacks"]["fgsm_linf_0.2"].update(robust_accuracy=0.5),
         "validity:iterative_at_least_single_step"),
        (lambda m: m["attacks"]["apgdce20_linf_0.1"].update(robust_accuracy=0.7),
         "validity:accuracy_falls_as_epsilon_grows"),
        (lambda m: m["attacks"]["apgdce20_linf_1"].update(robust_accuracy=0.4),
         "validity:large_epsilon_reaches_chance"),
        (lambda m: m["cascade"][1].update(share=0.2), "validity:black_box_not_stronger"),
        (lambda m: m["attacks"]["fgsm_linf_0.2"].update(noise_accuracy=0.5),
         "validity:noise_weaker_than_attack"),
        (lambda m: m.update(certified_accuracy=0.3, certified_broken=1),
         "validity:certificates_hold"),
    ],
)  # fmt: skip
def test_each_symptom_fails_its_check(change, failed):
    metrics = copy.deepcopy(_sound())
    change(metrics)
    assert _failed(metrics) == {failed}
