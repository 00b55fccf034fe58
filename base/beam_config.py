"""``BeamConfig``: where the Beam components run, for every command and target.

One runner setting for `run`, `compare`, `gate` and `kfp compile`:

- ``direct``: Beam's in-process DirectRunner (locally; in the component's pod on Kubeflow).
- ``portable``: Beam's portability framework, locally: the pipeline goes to a Job API
  endpoint (a Flink or Spark job server, or Beam's own Python job service) and its work runs
  in SDK worker processes of an EXTERNAL worker pool, which share nothing with the launcher.
- ``dataflow``, ``flink``, ``spark``: the cluster runners a compiled Kubeflow spec names; their
  SDK workers run the project's image.

The arguments are computed where they are used: ``local_args`` for a run on this machine
(with the user's ``--beam-arg``s, kept as given) and ``cluster_args`` for a compiled spec.
"""

from __future__ import annotations

import dataclasses
import re
from typing import ClassVar, Dict, Sequence, Tuple

from robustfx.base.settings import check_settings, setting
from robustfx.base.validation import require

BEAM_RUNNERS = ("direct", "portable", "dataflow", "flink", "spark")
LOCAL_RUNNERS = ("direct", "portable")
CLUSTER_RUNNERS = ("direct", "dataflow", "flink", "spark")
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
# The options each cluster runner cannot do without.
_REQUIRED_OPTIONS = {
    "dataflow": ("project", "region", "temp_location"),
    "flink": ("flink_master",),
    "spark": ("spark_master_url",),
}


@dataclasses.dataclass(frozen=True)
class BeamConfig:
    """The Beam runner of the Beam components (ExampleGen, StatisticsGen, Transform, TFMA and
    the robustness evaluation), and its settings."""

    CLI_GROUP: ClassVar[str] = "Beam runner"

    runner: str = setting(
        "direct",
        flag="--beam-runner",
        choices=BEAM_RUNNERS,
        help="direct: Beam's DirectRunner (in process; in the pod on Kubeflow). portable "
        "(locally): submit to a Job API endpoint (--job-endpoint) whose SDK workers come from "
        "an external worker pool (--worker-pool). dataflow, flink, spark (kfp compile): the "
        "cluster runner, its workers on the project's image.",
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
    options: Dict[str, str] = setting(
        flag="--beam-option",
        repeat=True,
        metavar="KEY=VALUE",
        default_factory=dict,
        help="Runner option, repeatable, e.g. project=p, region=r, temp_location=gs://b/tmp "
        "(Dataflow); flink_master=host:8081 (Flink); spark_master_url=spark://host:7077 (Spark).",
    )
    direct_num_workers: int = setting(
        1, flag="--direct-num-workers", at_least=1, help="Workers of the direct runner in a pod."
    )

    def __post_init__(self) -> None:
        check_settings(self, "beam")
        if self.runner != "portable":
            require(
                not self.job_endpoint and not self.worker_pool,
                "--job-endpoint and --worker-pool need --beam-runner portable",
            )
        else:
            endpoints = (("--job-endpoint", self.job_endpoint), ("--worker-pool", self.worker_pool))
            for flag, value in endpoints:
                require(bool(value), f"--beam-runner portable needs {flag} HOST:PORT")
                require(bool(_ENDPOINT.match(value)), f"{flag}={value!r} is not HOST:PORT")
        missing = [
            key for key in _REQUIRED_OPTIONS.get(self.runner, ()) if not self.options.get(key)
        ]
        require(not missing, f"beam runner {self.runner} needs option(s) {', '.join(missing)}")

    def _options(self) -> Tuple[str, ...]:
        return tuple(f"--{key}={value}" for key, value in sorted(self.options.items()))

    def local_args(self, beam_args: Sequence[str] = ()) -> Tuple[str, ...]:
        """The Beam pipeline arguments of a run on this machine whose ``--beam-arg``s are
        ``beam_args``.

        The direct runner takes the user's args as they are (giving any replaces its
        defaults); the portable runner puts its own first and appends the user's.

        Raises:
          ConfigError: a cluster runner, which only a compiled spec runs; or a --runner in
            the user's args beside the portable runner.
        """
        require(
            self.runner in LOCAL_RUNNERS,
            f"--beam-runner {self.runner} runs a compiled Kubeflow spec (robustfx kfp compile); "
            f"here use one of {', '.join(LOCAL_RUNNERS)} (or --beam-arg=--runner=...)",
        )
        beam_args = tuple(beam_args)
        if self.runner == "direct":
            return (beam_args or DIRECT_RUNNER_ARGS) + self._options()
        require(
            not any(arg.startswith("--runner") for arg in beam_args),
            "--beam-arg=--runner=... conflicts with --beam-runner portable",
        )
        own = (
            "--runner=PortableRunner",
            f"--job_endpoint={self.job_endpoint}",
            "--environment_type=EXTERNAL",
            f"--environment_config={self.worker_pool}",
            # TFX ships no source package when the workers' SDK is named: the workers run the
            # installed project (the project's image on a cluster).
            f"--sdk_container_image={BEAM_SDK_IMAGE}",
        )
        return own + beam_args + self._options()

    def cluster_args(self, image: str) -> Tuple[str, ...]:
        """The Beam pipeline arguments of a compiled Kubeflow spec. On Dataflow, Flink and
        Spark the SDK workers run ``image`` (the project's own, with Keras 2 and the project
        installed), unless an option names another; a stock Beam SDK container would load
        Keras 3 and fail.

        Raises:
          ConfigError: the portable runner, which names endpoints of this machine.
        """
        require(
            self.runner in CLUSTER_RUNNERS,
            f"--beam-runner {self.runner} is for runs on this machine; a compiled spec takes "
            f"one of {', '.join(CLUSTER_RUNNERS)}",
        )
        if self.runner == "direct":
            base = [
                "--runner=DirectRunner",
                "--direct_running_mode=multi_processing",
                f"--direct_num_workers={self.direct_num_workers}",
                # As locally: no Prism download attempt, and no source package built by TFX
                # in each Beam task (the workers run the image's installed project).
                f"--update_compatibility_version={BEAM_VERSION}",
                f"--sdk_container_image={image}",
            ]
        elif self.runner == "dataflow":
            base = ["--runner=DataflowRunner"]
            if "sdk_container_image" not in self.options:
                base.append(f"--sdk_container_image={image}")
        else:
            base = [f"--runner={self.runner.capitalize()}Runner"]
            if "environment_type" not in self.options:
                base += ["--environment_type=DOCKER", f"--environment_config={image}"]
        return tuple(base) + self._options()
