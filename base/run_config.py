"""``RunConfig``: everything one pipeline run needs, with the dataset it reads.

Paths left empty are derived from the dataset (``runs/<dataset>/...``), so that runs on
different datasets, and experiments such as ``robustfx compare``, never share a history.
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import ClassVar, Optional, Tuple

from robustfx.base.beam_config import BeamConfig
from robustfx.base.evaluation_config import EvaluationConfig
from robustfx.base.remote_storage import check_path
from robustfx.base.settings import image_size, setting
from robustfx.base.training_config import AdversarialConfig, ModelConfig, TrainingConfig
from robustfx.base.validation import check_int, is_remote, require

DEFAULT_DATASET = "mnist_5k"
# The SQLite ML Metadata store lives under the pipeline root: one root is one history.
METADATA_FILE = "metadata.sqlite"


def default_data_dir() -> str:
    """TFDS's own default, so datasets built with ``tfds build`` are found without flags."""
    return os.environ.get(
        "TFDS_DATA_DIR", os.path.join(os.path.expanduser("~"), "tensorflow_datasets")
    )


def absolute(path: str) -> str:
    """A local path made absolute; URLs such as gs://bucket/dir are kept as they are."""
    return path if is_remote(path) else os.path.abspath(path)


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Which TFDS dataset to read, and optional resizing of its images."""

    CLI_GROUP: ClassVar[str] = "data"

    dataset: str = setting(
        DEFAULT_DATASET,
        flag="--dataset",
        help="TFDS dataset name (optionally name:version). mnist_5k is the offline default; "
        "others (mnist, beans, cifar10, ...) must be prepared with `tfds build`.",
    )
    data_dir: str = setting(
        flag="--data-dir",
        default_factory=default_data_dir,
        help="TFDS data directory holding prepared datasets ($TFDS_DATA_DIR if set).",
    )
    resize: Optional[Tuple[int, int]] = setting(
        None,
        flag="--resize",
        parse=image_size,
        metavar="HxW",
        help="Resize images to HEIGHTxWIDTH (needed when sizes vary).",
    )

    def __post_init__(self) -> None:
        require(
            bool(re.match(r"^[a-z0-9_]+(:[0-9.]+)?$", self.dataset or "")),
            f"dataset={self.dataset!r} is not a TFDS dataset name (lowercase, digits, '_')",
        )
        require(bool(self.data_dir), "data_dir is empty: give the TFDS data directory")
        check_path(self.data_dir, "data_dir")
        object.__setattr__(self, "data_dir", absolute(self.data_dir))
        if self.resize is not None:
            object.__setattr__(self, "resize", tuple(self.resize))
            require(len(self.resize) == 2, f"resize={self.resize!r} must be (height, width)")
            for side in self.resize:
                check_int("resize side", side, 1)

    @property
    def tag(self) -> str:
        """The dataset name as a path and pipeline-name part ('mnist:3.0.1' -> 'mnist-3.0.1')."""
        return self.dataset.replace(":", "-")


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Everything one pipeline run needs."""

    CLI_GROUP: ClassVar[str] = "paths and runtime"

    data: DataConfig = setting(default_factory=DataConfig, help="The dataset.")
    # Keeps an experiment's pipeline name and default paths apart from the production run's,
    # so their histories and baselines never mix ('compare' for robustfx compare).
    experiment: str = setting("", help="Experiment name ('' is the production pipeline).")
    pipeline_name: str = setting(
        "", flag="--pipeline-name", derived=True, help="(default: robustfx-<dataset>)"
    )
    pipeline_root: str = setting(
        "",
        flag="--pipeline-root",
        derived=True,
        help="Where TFX writes artifacts and the SQLite ML Metadata store "
        "(default: runs/<dataset>/pipeline_root).",
    )
    serving_dir: str = setting(
        "",
        flag="--serving-dir",
        derived=True,
        help="Where blessed models are pushed, one numbered version per push "
        "(default: runs/<dataset>/serving).",
    )
    model: ModelConfig = setting(default_factory=ModelConfig, help="The CNN.")
    adversarial: AdversarialConfig = setting(
        default_factory=AdversarialConfig, help="NSL adversarial regularization."
    )
    training: TrainingConfig = setting(default_factory=TrainingConfig, help="Optimization.")
    evaluation: EvaluationConfig = setting(
        default_factory=EvaluationConfig, help="The robustness evaluation."
    )
    beam: BeamConfig = setting(
        default_factory=BeamConfig, help="The Beam runner of the Beam components."
    )
    beam_args: Tuple[str, ...] = setting(
        (),
        flag="--beam-arg",
        repeat=True,
        metavar="ARG",
        help="Beam pipeline argument, repeatable, e.g. --beam-arg=--direct_num_workers=2. "
        "Giving any replaces the direct runner's defaults.",
    )
    enable_cache: bool = setting(
        True, flag="--cache", help="Reuse cached component results; --no-cache re-runs every one."
    )

    def __post_init__(self) -> None:
        require(
            bool(re.match(r"^[a-z0-9_]*$", self.experiment)),
            f"experiment={self.experiment!r} is invalid: use lowercase letters, digits or '_'",
        )
        base = os.path.join("runs", self.data.tag, self.experiment)
        name = "-".join(p for p in ("robustfx", self.data.tag, self.experiment) if p)
        derived = {
            "pipeline_name": name.replace("_", "-"),
            "pipeline_root": os.path.join(base, "pipeline_root"),
            "serving_dir": os.path.join(base, "serving"),
        }
        for field, default in derived.items():
            object.__setattr__(self, field, getattr(self, field) or default)
        require(
            bool(re.match(r"^[A-Za-z0-9_\-]+$", self.pipeline_name)),
            f"pipeline_name={self.pipeline_name!r} is invalid: use letters, digits, '_' or '-'",
        )
        object.__setattr__(self, "pipeline_root", absolute(self.pipeline_root))
        check_path(self.serving_dir, "serving_dir")
        object.__setattr__(self, "serving_dir", absolute(self.serving_dir))

    def pipeline_args(self) -> Tuple[str, ...]:
        """The Beam pipeline arguments of a run on this machine (``BeamConfig.local_args``)."""
        return self.beam.local_args(self.beam_args)

    @property
    def metadata_path(self) -> str:
        """SQLite ML Metadata lives under the pipeline root, so one root is one history."""
        return os.path.join(self.pipeline_root, METADATA_FILE)
