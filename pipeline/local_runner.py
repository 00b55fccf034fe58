"""Runs the pipeline locally with LocalDagRunner, SQLite ML Metadata and the Beam DirectRunner.

Everything that can be checked is checked before the first component starts: the config
(at construction), the dataset, the memory the run will need, and the serving directory.
"""

import logging
import os
import tempfile
from typing import Callable, Optional

from tfx import v1 as tfx

from robustfx.base.run_config import DEFAULT_DATASET, RunConfig
from robustfx.base.validation import ConfigError
from robustfx.data.check import check_dataset
from robustfx.data.metadata import DatasetInfo, locate_dataset
from robustfx.pipeline.host_memory import check_memory
from robustfx.pipeline.production import create_pipeline, evaluator_id
from robustfx.pipeline.run_lock import exclusive_run
from robustfx.pipeline.run_summary import RunSummary, summarize_run


def check_writable_dir(field: str, path: str) -> None:
    """Creates ``path`` if needed and proves a file can be written there."""
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-check-"):
            pass
    except OSError as error:
        raise ConfigError(
            f"{field}={path!r} is not writable ({error.strerror}): choose a directory you "
            "can write to"
        ) from None


def resolve_dataset(config: RunConfig, prepare_default: bool = True) -> DatasetInfo:
    """Locates the dataset; prepares the offline default when it is missing."""
    try:
        return locate_dataset(config.data.dataset, config.data.data_dir)
    except ConfigError:
        if not (prepare_default and config.data.dataset == DEFAULT_DATASET):
            raise
    from robustfx.data.prepare import prepare_mnist_5k

    logging.info("Preparing the offline default dataset %s ...", DEFAULT_DATASET)
    return prepare_mnist_5k(config.data.data_dir)


def run_pipeline(
    config: RunConfig,
    build: Callable = create_pipeline,
    on_ready: Optional[Callable[[], None]] = None,
) -> DatasetInfo:
    """Checks everything it can, then runs the pipeline with LocalDagRunner.

    Args:
      build: ``build(config, dataset, metadata_connection_config=...)`` returns the TFX
        pipeline; the production pipeline unless an experiment composes its own.
      on_ready: called once every check passed, before anything is written (the console
        opens the run's log file here, so a refused run leaves nothing behind).
    """
    dataset = resolve_dataset(config)
    check_memory(config, dataset)
    check_writable_dir("pipeline_root", config.pipeline_root)
    check_writable_dir("serving_dir", config.serving_dir)
    check_dataset(dataset, cache_dir=os.path.join(config.pipeline_root, ".data_checks"))
    if on_ready is not None:
        on_ready()
    pipeline = build(
        config,
        dataset,
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            config.metadata_path
        ),
    )
    with exclusive_run(config.pipeline_root):
        tfx.orchestration.LocalDagRunner().run(pipeline)
    return dataset


def run_local(config: RunConfig, on_ready: Optional[Callable[[], None]] = None) -> RunSummary:
    """Runs the whole pipeline and returns what the run recorded."""
    dataset = run_pipeline(config, on_ready=on_ready)
    return summarize_run(config.metadata_path, config.pipeline_name, dataset.name, evaluator_id())
