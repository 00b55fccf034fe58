"""Typed configuration for running the pipeline on Kubeflow Pipelines (KFP v2).

Everything cluster-specific lives here: the target platform (open-source KFP or Vertex AI
Pipelines), the container image, remote paths and the object store's credentials, the
Trainer's accelerators, and the schedule. The Beam runner is the run's own
(``base.beam_config``), one setting for every command and target.
Values are validated at construction, before anything is compiled or sent.
"""

import dataclasses
import re
from typing import ClassVar, Dict, Optional

from robustfx.base import remote_storage
from robustfx.base.settings import setting
from robustfx.base.validation import require as _require
from robustfx.kubeflow.cron import normalize_cron

ACCELERATOR_KINDS = ("none", "gpu", "tpu")
# oss: open-source KFP 2.x (Argo Workflows, MinIO/S3); vertex: Vertex AI Pipelines.
TARGETS = ("oss", "vertex")


@dataclasses.dataclass(frozen=True)
class AcceleratorConfig:
    """The Trainer pod's resources. Its distribution strategy follows what the pod reports."""

    CLI_GROUP: ClassVar[str] = "kubeflow: Trainer resources"

    kind: str = setting(
        "none", flag="--accelerator-kind", choices=ACCELERATOR_KINDS, help="Trainer accelerator."
    )
    type: str = setting(
        "",
        flag="--accelerator-type",
        help="oss: a Kubernetes resource name, e.g. nvidia.com/gpu; vertex: a machine "
        "accelerator, e.g. NVIDIA_TESLA_T4 or TPU_V3.",
    )
    count: int = setting(0, flag="--accelerator-count", help="Accelerators for the Trainer pod.")
    cpu_limit: float = setting(0.0, flag="--cpu-limit", help="Trainer vCPUs (0: cluster default).")
    memory_limit: float = setting(
        0.0, flag="--memory-limit", help="Trainer memory in GiB (0: cluster default)."
    )

    def __post_init__(self) -> None:
        _require(
            self.kind in ACCELERATOR_KINDS,
            f"accelerator kind={self.kind!r} is unknown: use one of {', '.join(ACCELERATOR_KINDS)}",
        )
        _require(
            isinstance(self.count, int) and self.count >= 0,
            f"accelerator count={self.count!r} is invalid: it must be an integer >= 0",
        )
        _require(self.cpu_limit >= 0, f"cpu_limit={self.cpu_limit} must be >= 0")
        _require(self.memory_limit >= 0, f"memory_limit={self.memory_limit} must be >= 0")
        if self.kind != "none":
            _require(self.count >= 1, f"accelerator kind={self.kind} needs count >= 1")
            _require(bool(self.type), f"accelerator kind={self.kind} needs a type")


@dataclasses.dataclass(frozen=True)
class TrainerReplicasConfig:
    """A multi-worker Trainer: a Vertex AI custom job of ``replicas`` replicas, each given a
    ``TF_CONFIG``, so ``run_fn`` trains under MultiWorkerMirroredStrategy."""

    CLI_GROUP: ClassVar[str] = "kubeflow: multi-worker Trainer (Vertex AI)"

    replicas: int = setting(
        1,
        flag="--trainer-replicas",
        help="Training replicas. Above 1 the Trainer runs as a Vertex AI custom job of a chief "
        "and N-1 workers, each with the Trainer's accelerators and the project's image.",
    )
    machine_type: str = setting(
        "n1-standard-8", flag="--trainer-machine-type", help="Vertex AI machine of each replica."
    )
    project: str = setting("", flag="--vertex-project", help="GCP project of the training job.")
    region: str = setting("", flag="--vertex-region", help="Vertex AI region of the job.")

    def __post_init__(self) -> None:
        _require(
            isinstance(self.replicas, int) and self.replicas >= 1,
            f"trainer replicas={self.replicas!r} is invalid: it must be an integer >= 1",
        )
        if self.replicas > 1:
            _require(
                bool(self.project) and bool(self.region),
                "--trainer-replicas above 1 runs a Vertex AI job: give --vertex-project and "
                "--vertex-region",
            )


@dataclasses.dataclass(frozen=True)
class ObjectStoreConfig:
    """How the pipeline's pods reach an S3-compatible object store (MinIO, Ceph, AWS S3).

    KFP gives a component's container no endpoint or credentials of its own: the access key
    and secret come from a Kubernetes secret in the run's namespace, mapped onto the standard
    variables (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``); the endpoint and region are
    not secret and are set on every container.
    """

    CLI_GROUP: ClassVar[str] = "kubeflow: object store (S3, MinIO)"

    secret: str = setting(
        "",
        flag="--storage-secret",
        help="Kubernetes secret holding the keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
        "given to every task as those variables (oss; e.g. mlpipeline-minio-artifact holds "
        "accesskey/secretkey: copy them into a secret of these names).",
    )
    endpoint: str = setting(
        "",
        flag="--storage-endpoint",
        help="S3 endpoint URL for every task (AWS_ENDPOINT_URL), e.g. "
        "http://minio-service.kubeflow:9000; empty: AWS S3 itself.",
    )
    region: str = setting(
        "", flag="--storage-region", help="Region for every task (AWS_REGION), e.g. us-east-1."
    )

    def __post_init__(self) -> None:
        _require(
            not self.secret or bool(re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", self.secret)),
            f"--storage-secret {self.secret!r} is not a Kubernetes secret name",
        )
        _require(
            not self.endpoint or bool(re.match(r"^https?://[^/\s]+", self.endpoint)),
            f"--storage-endpoint {self.endpoint!r} must be an http(s) URL",
        )

    def environment(self) -> Dict[str, str]:
        """The plain (not secret) variables every task gets."""
        env = {"AWS_ENDPOINT_URL": self.endpoint, "AWS_REGION": self.region}
        return {name: value for name, value in env.items() if value}


@dataclasses.dataclass(frozen=True)
class KubeflowConfig:
    """Kubeflow Pipelines deployment settings."""

    CLI_GROUP: ClassVar[str] = "kubeflow"

    target: str = setting(
        "oss",
        flag="--target",
        choices=TARGETS,
        help="Where the spec runs: oss (open-source KFP 2.x: container and importer tasks "
        "only, S3/MinIO storage through --storage-secret) or vertex (Vertex AI Pipelines).",
    )
    image: str = setting(
        "robustfx:0.1.0",
        flag="--image",
        help="Container image built from kubeflow/Dockerfile, with registry and tag.",
    )
    pipeline_root: str = setting(
        "gs://YOUR_BUCKET/robustfx/pipeline_root",
        flag="--kfp-pipeline-root",
        help="Pipeline root the cluster writes to.",
    )
    serving_dir: str = setting(
        "gs://YOUR_BUCKET/robustfx/serving",
        flag="--kfp-serving-dir",
        help="Serving directory the cluster pushes blessed models to.",
    )
    data_dir: str = setting(
        "gs://YOUR_BUCKET/tensorflow_datasets",
        flag="--kfp-data-dir",
        help="TFDS data directory as the cluster sees it.",
    )
    accelerator: AcceleratorConfig = setting(
        default_factory=AcceleratorConfig, help="Trainer resources."
    )
    trainer_replicas: TrainerReplicasConfig = setting(
        default_factory=TrainerReplicasConfig, help="Multi-worker training."
    )
    storage: ObjectStoreConfig = setting(
        default_factory=ObjectStoreConfig, help="S3-compatible object store."
    )
    output_filename: str = setting("robustfx_pipeline.json", help="Spec file name.")

    def __post_init__(self) -> None:
        _require(
            self.target in TARGETS,
            f"target={self.target!r} is unknown: use one of {', '.join(TARGETS)}",
        )
        _require(
            bool(re.fullmatch(r"[\w.\-/:@]+", self.image or "")),
            f"image={self.image!r} is not a container image reference",
        )
        for name in ("pipeline_root", "serving_dir", "data_dir"):
            _require(bool(getattr(self, name)), f"kubeflow {name} is empty")
        if self.target == "oss":
            self._check_oss()

    def _check_oss(self) -> None:
        """What open-source KFP cannot do, refused before compiling (see oss_rules)."""
        from robustfx.kubeflow.oss_rules import is_resource_name

        _require(
            self.trainer_replicas.replicas == 1,
            "--trainer-replicas above 1 runs a Vertex AI custom job, which open-source KFP "
            "does not have: compile with --target vertex, or train with one replica",
        )
        if self.accelerator.kind != "none":
            _require(
                is_resource_name(self.accelerator.type),
                f"--accelerator-type {self.accelerator.type!r} is not a Kubernetes resource "
                "name, which open-source KFP needs (e.g. nvidia.com/gpu); Vertex AI names such "
                "as NVIDIA_TESLA_T4 are for --target vertex",
            )
        # The pipeline root may be KFP's default, minio://mlpipeline/v2/artifacts: its task
        # URIs reach the executors as s3:// (kubeflow/entrypoint). These two are read as given.
        for name in ("serving_dir", "data_dir"):
            remote_storage.check_path(getattr(self, name), f"kubeflow {name}")


@dataclasses.dataclass(frozen=True)
class ScheduleConfig:
    """Where and when `robustfx kfp schedule` runs the compiled pipeline."""

    CLI_GROUP: ClassVar[str] = "schedule"

    host: str = setting(
        "",
        flag="--host",
        env="KF_PIPELINES_ENDPOINT",
        help="KFP API URL, e.g. https://kfp.example.com/pipeline (required).",
    )
    cron: str = setting(
        "0 0 3 * * *",
        flag="--cron",
        help="Schedule: 6-field KFP cron (seconds first) or standard 5-field.",
    )
    namespace: str = setting(
        "kubeflow", flag="--namespace", env="KF_PIPELINES_NAMESPACE", help="Kubernetes namespace."
    )
    experiment: str = setting("robustfx", flag="--experiment", help="KFP experiment.")
    pipeline_name: str = setting("robustfx", flag="--pipeline-name", help="KFP pipeline name.")
    job_name: str = setting("robustfx-nightly", flag="--job-name", help="Recurring run name.")
    token: Optional[str] = setting(
        None, flag="--token", env="KF_PIPELINES_TOKEN", help="Bearer token."
    )

    def __post_init__(self) -> None:
        _require(bool(self.host), "host is required: give --host or set KF_PIPELINES_ENDPOINT")
        _require(
            bool(re.match(r"^https?://", self.host or "")),
            f"host={self.host!r} must be an http(s) URL of the KFP API",
        )
        object.__setattr__(self, "cron", normalize_cron(self.cron))
        _require(bool(self.experiment), "experiment is empty")
        _require(bool(self.pipeline_name), "pipeline name is empty")
