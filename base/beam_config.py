"""``BeamRunnerConfig``: which Beam runner the Beam components of a local run use.

``direct`` is Beam's in-process DirectRunner. ``portable`` is Beam's portability framework,
the path Dataflow, Flink and Spark share: the pipeline is submitted to a Job API endpoint
(a Flink or Spark job server, or Beam's own Python job service) and its work runs in SDK
worker processes served by an EXTERNAL worker pool, which share nothing with the launcher.
"""

from __future__ import annotations

import dataclasses
import re
from typing import ClassVar, Sequence, Tuple

from robustfx.base.settings import setting
from robustfx.base.validation import require

BEAM_RUNNERS = ("direct", "portable")
BEAM_VERSION = "2.74.0"  # the installed Beam (constraints.txt)
BEAM_SDK_IMAGE = f"apache/beam_python3.10_sdk:{BEAM_VERSION}"
# The local Beam runner: one in-process worker (measured fastest on a 2-core machine).
DIRECT_RUNNER_ARGS = (
    "--runner=DirectRunner",
    "--direct_running_mode=in_memory",
    "--direct_num_workers=1",
    # Beam's DirectRunner first tries its Prism runner, which it downloads (offline: a failed
    # download per Beam pipeline); it never does when a compatibility version is named. The
    # installed version (constraints.txt) keeps every transform's current behaviour.
    f"--update_compatibility_version={BEAM_VERSION}",
    # TFX builds a source package of itself for every Beam component unless the args name
    # the workers' SDK; the local runner ships nothing to workers, so name the one it would.
    f"--sdk_container_image={BEAM_SDK_IMAGE}",
)
_ENDPOINT = re.compile(r"^[A-Za-z0-9.\-\[\]:]+:\d{1,5}$")


@dataclasses.dataclass(frozen=True)
class BeamRunnerConfig:
    """The Beam runner of a local run, and where a portable runner's services listen."""

    CLI_GROUP: ClassVar[str] = "Beam runner"

    runner: str = setting(
        "direct",
        flag="--beam-runner",
        choices=BEAM_RUNNERS,
        help="direct: Beam's in-process DirectRunner. portable: submit to a Job API endpoint "
        "(--job-endpoint) whose SDK workers come from an external worker pool "
        "(--worker-pool), as on Flink, Spark or Dataflow.",
    )
    job_endpoint: str = setting(
        "",
        flag="--job-endpoint",
        metavar="HOST:PORT",
        help="Job API endpoint of the portable runner: a Flink or Spark job server, or "
        "`python -m apache_beam.runners.portability.local_job_service_main --port PORT`.",
    )
    worker_pool: str = setting(
        "",
        flag="--worker-pool",
        metavar="HOST:PORT",
        help="SDK worker pool of the portable runner (EXTERNAL environment), e.g. "
        "`python -m apache_beam.runners.worker.worker_pool_main --service_port PORT`.",
    )

    def __post_init__(self) -> None:
        require(
            self.runner in BEAM_RUNNERS,
            f"beam runner={self.runner!r} is unknown: use one of {', '.join(BEAM_RUNNERS)}",
        )
        if self.runner != "portable":
            require(
                not self.job_endpoint and not self.worker_pool,
                "--job-endpoint and --worker-pool need --beam-runner portable",
            )
            return
        endpoints = (("--job-endpoint", self.job_endpoint), ("--worker-pool", self.worker_pool))
        for flag, value in endpoints:
            require(bool(value), f"--beam-runner portable needs {flag} HOST:PORT")
            require(bool(_ENDPOINT.match(value)), f"{flag}={value!r} is not HOST:PORT")

    def pipeline_args(self, beam_args: Sequence[str]) -> Tuple[str, ...]:
        """The Beam pipeline arguments of a run whose ``--beam-arg``s are ``beam_args``.

        The direct runner takes them as they are (giving any replaced the defaults, as it
        always has). The portable runner puts its own first and appends the user's; the
        direct runner's defaults are dropped, not appended.
        """
        beam_args = tuple(beam_args)
        if self.runner == "direct":
            return beam_args
        own = (
            "--runner=PortableRunner",
            f"--job_endpoint={self.job_endpoint}",
            "--environment_type=EXTERNAL",
            f"--environment_config={self.worker_pool}",
            # TFX ships no source package when the workers' SDK is named: the workers run the
            # installed project (the project's image on a cluster).
            f"--sdk_container_image={BEAM_SDK_IMAGE}",
        )
        if beam_args[: len(own)] == own:
            return beam_args  # already resolved (a config rebuilt from its own fields)
        extra = () if beam_args == DIRECT_RUNNER_ARGS else beam_args
        require(
            not any(arg.startswith("--runner") for arg in extra),
            "--beam-arg=--runner=... conflicts with --beam-runner portable",
        )
        return own + extra
