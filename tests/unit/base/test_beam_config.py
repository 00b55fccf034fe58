"""The Beam runner of a local run: the portable runner's flags, checks and pipeline args."""

import pytest

from robustfx.base.beam_config import DIRECT_RUNNER_ARGS, BeamRunnerConfig
from robustfx.base.gate_config import GateConfig
from robustfx.base.run_config import RunConfig
from robustfx.base.validation import ConfigError
from robustfx.cli import main as cli

PORTABLE = BeamRunnerConfig(runner="portable", job_endpoint="localhost:8099", worker_pool="h:5")


def test_the_direct_runner_keeps_its_defaults_and_the_users_args():
    assert RunConfig().beam_args == DIRECT_RUNNER_ARGS
    assert RunConfig(beam_args=("--runner=DirectRunner",)).beam_args == ("--runner=DirectRunner",)


def test_the_portable_runner_submits_to_the_job_service_with_external_workers():
    args = RunConfig(beam=PORTABLE).beam_args
    assert args[:4] == (
        "--runner=PortableRunner",
        "--job_endpoint=localhost:8099",
        "--environment_type=EXTERNAL",
        "--environment_config=h:5",
    )
    assert not any(a.startswith("--direct_running_mode") for a in args)
    extra = RunConfig(beam=PORTABLE, beam_args=("--direct_num_workers=2",)).beam_args
    assert extra[-1] == "--direct_num_workers=2"
    # A config rebuilt from its own fields does not stack the runner's args twice.
    assert RunConfig(beam=PORTABLE, beam_args=args).beam_args == args
    assert GateConfig(model="m", beam=PORTABLE).beam_args == args


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"runner": "portable", "worker_pool": "h:1"}, "needs --job-endpoint"),
        ({"runner": "portable", "job_endpoint": "h:1"}, "needs --worker-pool"),
        ({"runner": "portable", "job_endpoint": "h", "worker_pool": "h:1"}, "not HOST:PORT"),
        ({"job_endpoint": "h:1"}, "need --beam-runner portable"),
        ({"runner": "flink"}, "is unknown"),
    ],
)
def test_bad_runner_settings_are_refused(fields, message):
    with pytest.raises(ConfigError, match=message):
        BeamRunnerConfig(**fields)


def test_a_runner_in_the_beam_args_conflicts_with_portable():
    with pytest.raises(ConfigError, match="conflicts"):
        RunConfig(beam=PORTABLE, beam_args=("--runner=FlinkRunner",))


def test_run_compare_and_gate_share_the_flags_and_refuse_before_running(capsys):
    for command in (["run"], ["compare"], ["gate", "--model", "m"]):
        code = cli.main([*command, "--beam-runner", "portable", "--job-endpoint", "h:1"])
        assert code == 2
        assert "needs --worker-pool" in capsys.readouterr().err
