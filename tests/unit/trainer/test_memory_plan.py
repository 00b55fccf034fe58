"""The memory estimate: what grows it (batch, image area, adversarial training) and what
does not (the size of the split); the refusal names the phase and the flag that fixes it."""

from robustfx.base.presets import PRESETS
from robustfx.base.training_config import AdversarialConfig, ModelConfig
from robustfx.trainer import memory_plan

BEANS = PRESETS["beans"]
GIB = 2**30


def _estimate(batch=28, eval_batch=16, shape=(500, 500, 3), adversarial=BEANS.adversarial):
    return memory_plan.estimate(BEANS.model, adversarial, shape, 3, batch, eval_batch)


def test_activations_follow_the_layer_plan():
    # 28x28x1 input; conv 26x26x32, pool 13x13x32; conv 11x11x64, pool 5x5x64; conv 3x3x64;
    # dense 64; 10 logits.
    expected = 784 + 26 * 26 * 32 + 13 * 13 * 32 + 11 * 11 * 64 + 5 * 5 * 64 + 3 * 3 * 64 + 74
    assert memory_plan.activation_floats(ModelConfig(), (28, 28, 1), 10) == expected


def test_the_estimate_grows_with_batch_and_image_area_and_adversarial_training():
    base = _estimate()
    assert _estimate(batch=56).training > base.training
    assert _estimate(eval_batch=32).attack > base.attack
    assert _estimate(shape=(250, 250, 3)).peak < base.peak
    clean = _estimate(adversarial=AdversarialConfig(enabled=False))
    assert clean.training < base.training


def test_the_beans_preset_fits_the_issues_budget():
    assert _estimate().peak <= 6 * GIB


def test_a_run_that_fits_is_not_refused():
    assert memory_plan.refusal(_estimate(), 24 * GIB, 28, 16) is None


def test_refusal_names_the_phase_the_flag_and_a_batch_that_fits():
    need = _estimate(batch=512)
    message = memory_plan.refusal(need, 8 * GIB, 512, 16)
    assert "for training (--batch-size 512)" in message and "8.0 GiB" in message
    fits = int(message.split("use --batch-size ")[1].split()[0])
    assert 1 <= fits < 512
    assert memory_plan.refusal(_estimate(batch=fits), 8 * GIB, fits, 16) is None
    attack = memory_plan.refusal(_estimate(eval_batch=1024), 8 * GIB, 28, 1024)
    assert "for the attack suite (--eval-batch-size 1024)" in attack


def test_an_image_too_large_for_any_batch_asks_for_resize():
    need = _estimate(shape=(8000, 8000, 3))
    assert "--resize" in memory_plan.refusal(need, 8 * GIB, 28, 16)
