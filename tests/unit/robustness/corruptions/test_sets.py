"""The named corruption sets, written once in base: what each runs for grey and RGB images,
what it skips and says, and that every name it holds is implemented."""

import pytest

import robustfx  # noqa: F401  (pins Keras 2 before any test imports TensorFlow)
from robustfx.base.corruption_sets import (
    ALL_CORRUPTIONS,
    CORRUPTION_SET_NAMES,
    CORRUPTION_SETS,
    MNIST_C_CORRUPTIONS,
    RGB_CORRUPTIONS,
    resolve_corruption_set,
)
from robustfx.base.validation import ConfigError


def test_none_runs_nothing():
    for channels in (1, 3):
        resolved = resolve_corruption_set("none", channels)
        assert resolved.runs == () and resolved.skipped == () and resolved.note == ""


def test_full_is_every_mnist_c_corruption_at_five_severities_and_more_for_rgb():
    grey = resolve_corruption_set("full", 1)
    assert grey.corruptions == MNIST_C_CORRUPTIONS and len(grey.runs) == 15 * 5
    assert {severity for _, severity in grey.runs} == {1, 2, 3, 4, 5}
    assert grey.skipped == RGB_CORRUPTIONS
    assert "9 RGB-only corruptions skipped for 1-channel images" in grey.note
    rgb = resolve_corruption_set("full", 3)
    assert rgb.corruptions == ALL_CORRUPTIONS and len(rgb.runs) == 24 * 5
    assert rgb.skipped == () and rgb.note == ""


def test_quick_is_a_few_diverse_corruptions_at_two_severities():
    from robustfx.robustness.corruptions.registry import CORRUPTIONS

    grey = resolve_corruption_set("quick", 1)
    families = {CORRUPTIONS[name].family for name in grey.corruptions}
    assert 4 <= len(grey.corruptions) <= 8 and len(families) >= 5
    assert {severity for _, severity in grey.runs} == {2, 4}
    assert grey.skipped == ("contrast",) and "contrast" in grey.note
    assert resolve_corruption_set("quick", 3).corruptions == grey.corruptions + ("contrast",)


def test_every_set_names_implemented_corruptions_and_bad_input_is_refused():
    from robustfx.robustness.corruptions.registry import CORRUPTIONS

    assert CORRUPTION_SET_NAMES == ("none", "quick", "full")
    for entries in CORRUPTION_SETS.values():
        assert {name for name, _ in entries} <= set(CORRUPTIONS)
    with pytest.raises(ConfigError, match="corruptions='fast' is unknown: use one of none"):
        resolve_corruption_set("fast", 1)
    with pytest.raises(ConfigError, match="channels=4 is unknown"):
        resolve_corruption_set("full", 4)
