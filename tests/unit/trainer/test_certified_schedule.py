"""The ibp recipe's schedule (clean, then epsilon and the clean weight ramped linearly) and
its settings' validation."""

import pytest

from robustfx.base.training_config import TrainingConfig
from robustfx.base.validation import ConfigError
from robustfx.trainer.certified import schedule


def test_the_default_recipe_is_unchanged_adversarial_training():
    assert TrainingConfig().recipe == "adversarial"


def test_epsilon_and_the_clean_weight_ramp_between_the_fractions():
    config = TrainingConfig(
        recipe="ibp", certified_epsilon=0.3, certified_clean_weight=0.5, certified_ramp=(0.2, 0.6)
    )
    at = {step: [float(v) for v in schedule(config, step, 100)] for step in (0, 20, 40, 60, 100)}
    assert at[0] == at[20] == [0.0, 1.0]
    assert at[40] == pytest.approx([0.15, 0.75])
    assert at[60] == at[100] == pytest.approx([0.3, 0.5])


def test_a_ramp_of_no_length_steps_at_its_start():
    config = TrainingConfig(recipe="ibp", certified_epsilon=0.1, certified_ramp=(0.5, 0.5))
    assert [float(v) for v in schedule(config, 49, 100)] == [0.0, 1.0]
    assert float(schedule(config, 50, 100)[0]) == pytest.approx(0.1)


@pytest.mark.parametrize(
    "settings, problem",
    [
        ({"recipe": "crown"}, "recipe='crown'"),
        ({"certified_epsilon": 1.5}, "certified_epsilon=1.5"),
        ({"certified_clean_weight": -0.1}, "certified_clean_weight=-0.1"),
        ({"certified_ramp": (0.6, 0.2)}, "certified_ramp=\\[0.6, 0.2\\]"),
        ({"certified_ramp": (0.5,)}, "certified_ramp=\\[0.5\\]"),
    ],
)
def test_bad_settings_are_refused_by_name(settings, problem):
    with pytest.raises(ConfigError, match=problem):
        TrainingConfig(**settings)
