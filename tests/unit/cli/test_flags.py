"""Every setting has one home: the flags are generated from the configs, so parsing no flags
gives exactly the configs' defaults, for every command."""

import dataclasses

import pytest

from robustfx.base.evaluation_config import EvaluationConfig
from robustfx.base.gate_config import GateConfig
from robustfx.base.presets import with_preset
from robustfx.base.run_config import DataConfig, RunConfig
from robustfx.base.settings import FLAG
from robustfx.base.validation import ConfigError
from robustfx.cli import commands
from robustfx.cli.flags import config_from_args
from robustfx.cli.main import build_parser
from robustfx.kubeflow.config import KubeflowConfig, ScheduleConfig


def _parse(*argv, preset=None):
    return build_parser(preset).parse_args(list(argv))


@pytest.mark.parametrize(
    "argv, build, expected",
    [
        (["run"], commands.run_config, RunConfig()),
        (["compare"], commands.run_config, RunConfig(experiment="compare")),
        (["gate"], commands.gate_config, GateConfig()),
        (["kfp", "compile", "--output", "x.json"], commands.run_config, RunConfig()),
        (
            ["kfp", "compile", "--output", "x.json"],
            lambda args: config_from_args(KubeflowConfig, args),
            KubeflowConfig(),
        ),
        (
            ["kfp", "schedule", "--spec", "x.json", "--host", "http://kfp"],
            lambda args: config_from_args(ScheduleConfig, args),
            ScheduleConfig(host="http://kfp"),
        ),
        (
            ["data", "prepare"],
            lambda args: config_from_args(DataConfig, args, skip=("dataset", "resize")),
            DataConfig(),
        ),
    ],
)
def test_no_flags_give_the_config_defaults(monkeypatch, argv, build, expected):
    for variable in ("KF_PIPELINES_NAMESPACE", "KF_PIPELINES_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    assert build(_parse(*argv)) == expected


def test_a_preset_is_the_default_that_flags_override():
    args = _parse("run", "--preset", "mnist", "--epochs", "2", preset="mnist")
    expected = with_preset(RunConfig(), "mnist")
    expected = dataclasses.replace(
        expected, training=dataclasses.replace(expected.training, epochs=2)
    )
    assert commands.run_config(args) == expected


def _flagged(cls, prefix=""):
    for field in dataclasses.fields(cls):
        if dataclasses.is_dataclass(field.type) or field.name in ("data", "evaluation"):
            continue
        if field.metadata.get(FLAG):
            yield field


def test_every_flagged_setting_of_run_is_on_the_command_line(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--help"])
    text = capsys.readouterr().out
    for cls in (RunConfig, DataConfig, EvaluationConfig):
        for field in _flagged(cls):
            flag = field.metadata[FLAG]
            assert flag in text or f"--no-{flag[2:]}" in text, field.name


def test_one_threshold_syntax_merges_with_the_defaults():
    for command in (["run"], ["compare"], ["gate"]):
        args = _parse(*command, "--threshold", "clean=0.5", "--threshold", "pgd20_linf_0.2=0.4")
        build = commands.gate_config if command == ["gate"] else commands.run_config
        evaluation = build(args).evaluation
        thresholds = evaluation.thresholds
        assert thresholds.min_clean_accuracy == 0.5
        assert thresholds.min_worst_case_accuracy == 0.7  # the default, kept
        assert thresholds.min_robust_accuracy == {"pgd20_linf_0.2": 0.4}
        assert "pgd20_linf_0.2" in [attack.name for attack in evaluation.references()]


def test_suite_and_threat_model_flags_build_the_cascade():
    args = _parse("gate", "--suite", "standard", "--norm", "l2", "--epsilon", "1.5")
    cascade = commands.gate_config(args).evaluation.cascade()
    assert [a.name for a in cascade][0] == "apgdce100_l2_1.5"
    custom = _parse("run", "--attack", "pgd20-rs_linf_0.2", "--attack", "square100_linf_0.2")
    names = [a.name for a in commands.run_config(custom).evaluation.cascade()]
    assert names == ["pgd20-rs_linf_0.2", "square100_linf_0.2"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "--threshold", "clean"], "--threshold 'clean' is not NAME=VALUE"),
        (["run", "--conv-filters", "a,b"], "--conv-filters 'a,b' is invalid"),
        (["run", "--resize", "12"], "--resize '12' is invalid"),
        (["run", "--epochs", "two"], "--epochs 'two' is invalid"),
    ],
)
def test_unparsable_values_name_the_flag(argv, message):
    with pytest.raises(ConfigError, match=message):
        commands.run_config(_parse(*argv))
