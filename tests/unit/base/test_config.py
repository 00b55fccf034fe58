"""Config validation: bad values fail at construction, naming the field and the range."""

import dataclasses
from typing import Mapping, Optional, Tuple

import pytest

from robustfx.base.attack_config import AttackConfig
from robustfx.base.evaluation_config import EvaluationConfig, ThresholdConfig
from robustfx.base.presets import with_preset
from robustfx.base.run_config import DataConfig, RunConfig
from robustfx.base.serialization import from_dict, to_dict
from robustfx.base.settings import check_settings, setting
from robustfx.base.training_config import AdversarialConfig, TrainingConfig
from robustfx.base.validation import ConfigError


def test_defaults_are_the_tutorial_cnn_with_the_robust_recipe():
    config = RunConfig()
    assert config.model.conv_filters == (32, 64, 64)
    adversarial = config.adversarial
    assert (adversarial.multiplier, adversarial.adv_step_size, adversarial.adv_grad_norm) == (
        1.0,
        0.1,
        "linf",
    )
    assert (adversarial.pgd_iterations, adversarial.pgd_epsilon) == (3, 0.2)
    assert adversarial.random_init and adversarial.clip_to_pixel_range
    assert config.training.epochs == 15 and config.training.batch_size == 32


def test_the_mnist_preset_keeps_the_nsl_tutorial_settings():
    config = with_preset(RunConfig(), "mnist")
    adversarial = config.adversarial
    assert (adversarial.multiplier, adversarial.adv_step_size, adversarial.pgd_iterations) == (
        0.2,
        0.2,
        1,
    )
    assert adversarial.pgd_epsilon is None and not adversarial.random_init
    assert not adversarial.clip_to_pixel_range
    assert config.training.epochs == 5


def test_round_trip_through_json_dict_is_exact():
    config = RunConfig(
        evaluation=EvaluationConfig(
            attacks=(AttackConfig(), AttackConfig.from_name("pgd10_l2_1.5")),
            thresholds=ThresholdConfig(min_robust_accuracy={"pgd10_l2_1.5": 0.3}),
        ),
        data=DataConfig(dataset="beans", data_dir="/data", resize=(64, 64)),
    )
    assert from_dict(RunConfig, to_dict(config)) == config


@pytest.mark.parametrize(
    "name, expected",
    [
        ("fgsm_linf_0.2", AttackConfig("fgsm", "linf", 0.2, 1)),
        ("pgd20_linf_0.2", AttackConfig("pgd", "linf", 0.2, 20)),
        ("pgd20_l2_1.5", AttackConfig("pgd", "l2", 1.5, 20)),
    ],
)
def test_attack_names_parse_and_print_back(name, expected):
    assert AttackConfig.from_name(name) == expected
    assert expected.name == name


@pytest.mark.parametrize(
    "build, field",
    [
        (lambda: AttackConfig(epsilon=-0.1), "epsilon=-0.1"),
        (lambda: AttackConfig(method="pgd", steps=0), "steps=0"),
        (lambda: AttackConfig(norm="l3"), "'l3' is not a known norm"),
        (lambda: AttackConfig(method="cw"), "method='cw' is unknown"),
        (lambda: AttackConfig(norm="linf", epsilon=1.5), "epsilon=1.5"),
        (lambda: AttackConfig.from_name("deepfool_linf_0.1"), "is unknown"),
        (lambda: AttackConfig.from_name("fgsm_linf_-0.1"), "is unknown"),
        (lambda: AdversarialConfig(adv_step_size=-1.0), "adv_step_size=-1.0"),
        (lambda: AdversarialConfig(adv_grad_norm="l1"), "'l1' is not a known norm"),
        (lambda: AdversarialConfig(pgd_iterations=0), "pgd_iterations=0"),
        (lambda: TrainingConfig(batch_size=0), "batch_size=0"),
        (lambda: TrainingConfig(epochs=-1), "epochs=-1"),
        (lambda: TrainingConfig(accelerator="fpga"), "accelerator='fpga'"),
        (lambda: ThresholdConfig(min_clean_accuracy=1.5), "min_clean_accuracy=1.5"),
        (lambda: ThresholdConfig(max_clean_drop=-0.1), "max_clean_drop=-0.1"),
        (
            lambda: ThresholdConfig(min_robust_accuracy={"fgsm_linf_0.2": 2.0}),
            "min_robust_accuracy[fgsm_linf_0.2]=2.0",
        ),
        (lambda: ThresholdConfig(policy="mean"), "threshold policy='mean' is unknown"),
        (lambda: EvaluationConfig(suite="huge"), "suite='huge' is unknown: use one of quick"),
        (lambda: EvaluationConfig(corruptions="most"), "corruptions='most' is unknown"),
        (lambda: EvaluationConfig(batch_size=0), "batch_size=0 is invalid"),
        (lambda: EvaluationConfig(epsilon_sweep=(0.5, 1.5)), "epsilon_sweep[]=1.5"),
        (lambda: EvaluationConfig(report_examples=-1), "report_examples=-1"),
        (lambda: DataConfig(dataset="Not A Name"), "is not a TFDS dataset name"),
        (lambda: DataConfig(resize=(0, 10)), "resize side=0"),
    ],
)
def test_bad_values_name_the_field(build, field):
    with pytest.raises(ConfigError, match=field.replace("[", r"\[").replace("(", r"\(")):
        build()


@dataclasses.dataclass(frozen=True)
class _Declared:
    """Choices and ranges declared on the fields only: ``check_settings`` enforces them."""

    mode: str = setting("a", choices=("a", "b"), help="A choice.")
    count: int = setting(1, at_least=1, help="An integer range.")
    share: float = setting(0.5, at_least=0.0, at_most=1.0, help="A number range.")
    shares: Tuple[float, ...] = setting((), at_least=0.0, help="Each item in range.")
    floors: Mapping[str, float] = setting(
        default_factory=dict, at_most=1.0, at_least=0.0, help="Each value in range."
    )
    optional: Optional[float] = setting(None, at_least=1.0, help="Checked when given.")

    def __post_init__(self) -> None:
        check_settings(self, "toy")


@pytest.mark.parametrize(
    "values, message",
    [
        ({"mode": "c"}, "toy mode='c' is unknown: use one of a, b"),
        ({"count": 0}, "toy count=0 is invalid: it must be an integer >= 1"),
        ({"count": 1.0}, "toy count=1.0 is invalid: it must be an integer"),
        ({"share": 1.5}, "toy share=1.5 is invalid: it must be a number >= 0.0 and <= 1.0"),
        ({"shares": (0.1, -2.0)}, "toy shares[]=-2.0 is invalid"),
        ({"floors": {"x": 2.0}}, "toy floors[x]=2.0 is invalid"),
        ({"optional": 0.5}, "toy optional=0.5 is invalid"),
    ],
)
def test_choices_and_ranges_declared_on_a_field_are_checked(values, message):
    assert _Declared(shares=(0.0, 3.0), floors={"x": 1.0}, optional=2.0).count == 1
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        _Declared(**values)


def test_fgsm_with_several_steps_is_rejected():
    with pytest.raises(ConfigError, match="FGSM takes exactly 1 step"):
        AttackConfig(method="fgsm", steps=3)


def test_norm_aliases_are_canonical():
    assert AdversarialConfig(adv_grad_norm="infinity").adv_grad_norm == "linf"
    assert AttackConfig(norm="inf").norm == "linf"


def test_pgd_default_step_size_follows_madry():
    attack = AttackConfig.from_name("pgd10_linf_0.2")
    assert attack.effective_step_size == pytest.approx(0.05)
    assert AttackConfig().effective_step_size == 0.2


def test_an_attack_named_by_a_threshold_joins_the_references():
    config = EvaluationConfig(
        thresholds=ThresholdConfig(min_robust_accuracy={"pgd20_linf_0.2": 0.5}),
    )
    assert [attack.name for attack in config.references()] == ["fgsm_linf_0.2", "pgd20_linf_0.2"]


@pytest.mark.parametrize(
    "name",
    [
        "pgd20-rs_linf_0.2",
        "pgd20-rs-s0.01_linf_0.2",
        "apgdce100_linf_0.2",
        "apgddlr100-r2_l2_1.5",
        "apgdt100-t9_linf_0.2",
        "square5000_linf_0.2",
        "square500-p0.3_l2_1",
    ],
)
def test_every_parameter_is_in_the_name_and_parses_back(name):
    assert AttackConfig.from_name(name).name == name


def test_attacks_that_differ_never_share_a_name():
    variants = [
        AttackConfig(method="pgd", steps=20),
        AttackConfig(method="pgd", steps=20, random_start=True),
        AttackConfig(method="pgd", steps=20, step_size=0.01),
        AttackConfig(method="apgdce", steps=20),
        AttackConfig(method="apgdce", steps=20, restarts=2),
        AttackConfig(method="apgdt", steps=20, targets=3),
        AttackConfig(method="apgdt", steps=20, targets=9),
        AttackConfig(method="square", steps=20),
        AttackConfig(method="square", steps=20, p_init=0.5),
    ]
    assert len({attack.name for attack in variants}) == len(variants)


def test_named_suites_judge_white_box_and_black_box_attacks():
    quick = [a.name for a in EvaluationConfig().cascade()]
    assert quick == ["apgdce20_linf_0.2", "apgdt20-t3_linf_0.2", "square300_linf_0.2"]
    standard = EvaluationConfig(suite="standard", norm="l2", epsilon=1.5).cascade()
    assert [a.name for a in standard] == [
        "apgdce100_l2_1.5",
        "apgdt100-t9_l2_1.5",
        "square5000_l2_1.5",
    ]
    custom = EvaluationConfig(attacks=(AttackConfig.from_name("pgd20-rs_linf_0.3"),))
    assert custom.suite_name == "custom" and custom.cascade()[0].epsilon == 0.3


def test_the_sweep_runs_the_first_gradient_attack_up_to_a_very_large_epsilon():
    names = [a.name for a in EvaluationConfig(epsilon_sweep=(0.5,)).sweep()]
    assert names == ["apgdce20_linf_0.1", "apgdce20_linf_1"]


def test_the_gate_never_judges_the_train_split():
    with pytest.raises(ConfigError, match="split='train' is invalid"):
        EvaluationConfig(split="train")
