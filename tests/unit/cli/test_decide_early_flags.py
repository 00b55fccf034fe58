"""`robustfx gate` decides early by default; `--full` judges every example at once;
`--early-rounds` sets the rounds, which must increase."""

import pytest

from robustfx.base.validation import ConfigError
from robustfx.cli import commands
from robustfx.cli.main import build_parser


def _gate(*flags):
    return commands.gate_config(build_parser().parse_args(["gate", *flags]))


def test_the_gate_decides_early_unless_told_to_judge_every_example():
    assert _gate().decide_early and _gate().early_rounds == (128, 256, 512)
    assert _gate("--decide-early").decide_early
    assert not _gate("--full").decide_early
    assert _gate("--early-rounds", "100,200").early_rounds == (100, 200)


def test_the_help_names_both_ways(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["gate", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "--full Attack and corrupt every example before judging" in shown
    assert "(--decide-early)" in shown and "--early-rounds N,N,..." in shown


@pytest.mark.parametrize("rounds", ["256,128", "128,128", "0,128", ","])
def test_rounds_that_do_not_increase_from_one_are_refused(rounds):
    with pytest.raises(ConfigError, match="early_rounds"):
        _gate("--early-rounds", rounds)
