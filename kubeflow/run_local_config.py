"""Typed configuration of `robustfx kfp run-local`: the compiled spec to execute, and the
local pipeline root that keeps its runs (artifacts, task logs, the SQLite ML Metadata store).
Validated at construction, before anything is read or run."""

import dataclasses
from typing import ClassVar

from robustfx.base.settings import setting
from robustfx.base.validation import is_remote, require


@dataclasses.dataclass(frozen=True)
class LocalRunConfig:
    """What `robustfx kfp run-local` executes, and where its run is kept."""

    CLI_GROUP: ClassVar[str] = "kfp run-local"

    spec: str = setting(
        "", flag="--spec", help="The compiled pipeline spec (JSON) to execute (required)."
    )
    pipeline_root: str = setting(
        "",
        flag="--pipeline-root",
        help="Local directory for the run's artifacts, task logs and the SQLite ML Metadata "
        "store; runs on the same root share one history (default: the spec's own root, when "
        "it is local).",
    )

    def __post_init__(self) -> None:
        require(bool(self.spec), "--spec is required: the JSON `robustfx kfp compile` wrote")
        require(
            not is_remote(self.pipeline_root),
            f"pipeline root {self.pipeline_root!r} is not a local directory: run-local keeps "
            "a SQLite ML Metadata store under it; give a local --pipeline-root",
        )
