"""Typed configuration of `robustfx kfp run-local`: the compiled spec to execute, the platform
whose rules it is held to, the pipeline root its artifacts go to (local or ``s3://``), and
the local SQLite ML Metadata store that keeps its runs. Validated at construction, before
anything is read or run."""

import dataclasses
from typing import ClassVar

from robustfx.base.settings import setting
from robustfx.base.validation import is_remote, require

TARGETS = ("oss", "vertex")


@dataclasses.dataclass(frozen=True)
class LocalRunConfig:
    """What `robustfx kfp run-local` executes, and where its run is kept."""

    CLI_GROUP: ClassVar[str] = "kfp run-local"

    spec: str = setting(
        "", flag="--spec", help="The compiled pipeline spec (JSON) to execute (required)."
    )
    target: str = setting(
        "oss",
        flag="--target",
        choices=TARGETS,
        help="Behave as open-source KFP (oss: refuse what its backend refuses, before any "
        "task) or as Vertex AI Pipelines (vertex).",
    )
    pipeline_root: str = setting(
        "",
        flag="--pipeline-root",
        help="Where the run's artifacts go, local or s3:// (default: the spec's own root). "
        "Tasks get the URIs under it unchanged, as KFP's launcher gives them.",
    )
    metadata: str = setting(
        "",
        flag="--metadata",
        help="The local SQLite ML Metadata store that keeps the runs (default: metadata.sqlite "
        "under a local pipeline root; required with a remote one). Runs sharing it share one "
        "history and one cache.",
    )

    def __post_init__(self) -> None:
        require(bool(self.spec), "--spec is required: the JSON `robustfx kfp compile` wrote")
        require(
            self.target in TARGETS,
            f"--target {self.target!r} is unknown: use one of {', '.join(TARGETS)}",
        )
        require(
            not is_remote(self.metadata),
            f"--metadata {self.metadata!r} is not a local path: the store is a SQLite file",
        )
