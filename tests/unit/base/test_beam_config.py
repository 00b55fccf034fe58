"""The Beam runner, one setting for every command and target: the portable runner's flags,
checks and pipeline args locally, the cluster runners' in a compiled spec."""

import pytest

from robustfx.base.beam_config import DIRECT_RUNNER_ARGS, BeamConfig
from robustfx.base.gate_config import GateConfig
from robustfx.base.run_config import RunConfig
from robustfx.base.validation import ConfigError
from robustfx.cli import main as cli

PORTABLE = BeamConfig(runner="portable", job_endpoint="localhost:8099", worker_pool="h:5")


def test_the_direct_runner_keeps_its_defaults_and_the_users_args():
    assert RunConfig().beam_args == ()  # kept as given; resolved where used
    assert RunConfig().pipeline_args() == DIRECT_RUNNER_ARGS
    given = ("--runner=DirectRunner",)
    assert RunConfig(beam_args=given).pipeline_args() == given


def test_the_portable_runner_submits_to_the_job_service_with_external_workers():
    args = RunConfig(beam=PORTABLE).pipeline_args()
    assert args[:4] == (
        "--runner=PortableRunner",
        "--job_endpoint=localhost:8099",
        "--environment_type=EXTERNAL",
        "--environment_config=h:5",
    )
    assert not any(a.startswith("--direct_running_mode") for a in args)
    extra = RunConfig(beam=PORTABLE, beam_args=("--direct_num_workers=2",)).pipeline_args()
    assert extra[-1] == "--direct_num_workers=2"
    assert GateConfig(model="m", beam=PORTABLE).pipeline_args() == args


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"runner": "portable", "worker_pool": "h:1"}, "needs --job-endpoint"),
        ({"runner": "portable", "job_endpoint": "h:1"}, "needs --worker-pool"),
        ({"runner": "portable", "job_endpoint": "h", "worker_pool": "h:1"}, "not HOST:PORT"),
        ({"job_endpoint": "h:1"}, "need --beam-runner portable"),
        ({"runner": "flink"}, "needs option\\(s\\) flink_master"),
        ({"runner": "storm"}, "must be one of|is unknown"),
    ],
)
def test_bad_runner_settings_are_refused(fields, message):
    with pytest.raises(ConfigError, match=message):
        BeamConfig(**fields)


def test_a_runner_in_the_beam_args_conflicts_with_portable():
    with pytest.raises(ConfigError, match="conflicts"):
        RunConfig(beam=PORTABLE, beam_args=("--runner=FlinkRunner",)).pipeline_args()


def test_cluster_runners_are_for_compiled_specs_and_portable_for_this_machine():
    dataflow = BeamConfig(runner="dataflow", options={"project": "p", "region": "r",
                                                      "temp_location": "gs://b/t"})  # fmt: skip
    with pytest.raises(ConfigError, match="runs a compiled Kubeflow spec"):
        RunConfig(beam=dataflow).pipeline_args()
    with pytest.raises(ConfigError, match="runs a compiled Kubeflow spec"):
        GateConfig(model="m", beam=dataflow)
    with pytest.raises(ConfigError, match="is for runs on this machine"):
        PORTABLE.cluster_args("r/img:1")
    assert dataflow.cluster_args("r/img:1")[:2] == (
        "--runner=DataflowRunner", "--sdk_container_image=r/img:1"
    )  # fmt: skip


def test_run_compare_and_gate_share_the_flags_and_refuse_before_running(capsys):
    for command in (["run"], ["compare"], ["gate", "--model", "m"]):
        code = cli.main([*command, "--beam-runner", "portable", "--job-endpoint", "h:1"])
        assert code == 2
        assert "needs --worker-pool" in capsys.readouterr().err
