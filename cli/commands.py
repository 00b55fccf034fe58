"""One handler per ``robustfx`` command: build the typed configs from the parsed flags, call
the layer below, print the result. Heavy imports happen inside the handlers."""

import argparse
import contextlib
import dataclasses
import io
import json
import logging
import os
import sys
from typing import Optional

from robustfx.base.gate_config import GateConfig
from robustfx.base.presets import with_preset
from robustfx.base.run_config import METADATA_FILE, DataConfig, RunConfig, absolute
from robustfx.base.validation import ConfigError
from robustfx.cli.flags import config_from_args
from robustfx.cli.limits import LimitExceededError
from robustfx.robustness.models.saved_models import ModelSignatureError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
COMPARE = "compare"
GATE_SKIP = ("data.resize", "evaluation.report_examples")


def run_defaults(preset: Optional[str] = None, experiment: str = "") -> RunConfig:
    """The defaults of ``run`` (and, with ``experiment``, of ``compare``), with a preset."""
    return with_preset(RunConfig(experiment=experiment), preset)


def run_config(args: argparse.Namespace) -> RunConfig:
    """The typed RunConfig that the ``run``/``compare``/``kfp compile`` flags describe."""
    experiment = COMPARE if args.command == COMPARE else ""
    return config_from_args(RunConfig, args, run_defaults(args.preset, experiment))


def gate_config(args: argparse.Namespace) -> GateConfig:
    return config_from_args(GateConfig, args, skip=GATE_SKIP)


def write_json(path: str, payload: dict) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    with open(path, "w") as f:
        json.dump(payload, f, indent=2, sort_keys=True)
        f.write("\n")


class ModelOrDataError(RuntimeError):
    """Evaluating a model failed inside TensorFlow or Beam (a corrupt SavedModel, unreadable
    data): not a verdict on the model, so not exit code 1."""


# Errors about a model or data (not the command line) that still exit with the usage code 2.
MODEL_ERRORS = (ModelSignatureError, ModelOrDataError, LimitExceededError)


def _quiet_until_ready(args: argparse.Namespace) -> None:
    """Before TensorFlow is imported: its C++ logs obey, and nothing is shown or written
    until the run's checks pass and the console opens its log (``_open_console``)."""
    if not args.verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        logging.getLogger().setLevel(logging.WARNING)


def _open_console(args: argparse.Namespace, config: RunConfig):
    """The ``on_ready`` of a run: routes its logs to the console and the log file."""

    def on_ready() -> None:
        from robustfx.cli import console

        path = console.log_path(config.pipeline_root)
        console.configure(path, verbose=args.verbose, quiet=args.quiet)
        if not args.quiet:
            print(f"robustfx: full log in {path}", flush=True)

    return on_ready


def command_run(args: argparse.Namespace) -> int:
    config = run_config(args)  # bad values stop here, before TensorFlow or TFX is imported
    _quiet_until_ready(args)
    from robustfx.pipeline.local_runner import run_local

    summary = run_local(config, on_ready=_open_console(args, config))
    print(summary.render())
    if args.summary_json:
        write_json(args.summary_json, summary.to_dict())
    return EXIT_OK


def command_compare(args: argparse.Namespace) -> int:
    config = run_config(args)
    _quiet_until_ready(args)
    from robustfx.cli.compare import run_compare

    output_dir = os.path.abspath(
        args.output_dir or os.path.join("runs", config.data.tag, "compare")
    )
    summary = run_compare(
        config,
        with_pgd=not args.no_pgd,
        output_dir=output_dir,
        on_ready=_open_console(args, config),
        with_certified=not args.no_certified,
    )
    print(summary.pop("markdown"))
    print(f"table, plot and reports: {output_dir}")
    if args.summary_json:
        write_json(args.summary_json, summary)
    return EXIT_OK


def command_gate(args: argparse.Namespace) -> int:
    config = gate_config(args)
    from robustfx.cli import gate, gate_markdown
    from robustfx.data.check import check_dataset
    from robustfx.data.metadata import locate_dataset

    split = config.evaluation.split
    model = gate.resolve_model(config.model, config.pipeline_root)
    baseline = gate.resolve_model(config.baseline, None) if config.baseline else None
    dataset = locate_dataset(config.data.dataset, config.data.data_dir)
    if split in dataset.splits:  # run_gate names an unknown split
        check_dataset(dataset, [split])
    output_dir = absolute(args.output_dir or os.path.join("runs", config.data.tag, "gate"))
    try:
        recorded = gate.run_gate(
            model,
            dataset,
            split,
            config.evaluation,
            baseline,
            config.pipeline_args(),
            config.limits,
            config.interface,
            output_dir,
            config.early_rounds if config.decide_early else None,
        )
    except (ConfigError, *MODEL_ERRORS):
        raise
    except Exception as error:  # whatever TensorFlow or Beam raised: exit 2, never 1
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise ModelOrDataError(
            f"evaluating {model} on {dataset.name} split {split!r} failed: "
            f"{type(error).__name__}: {first_line}"
        ) from error
    markdown = gate_markdown.to_markdown(recorded, model, baseline, dataset.name, split)
    print(markdown)
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a") as f:
            f.write(markdown)
    if args.summary_json:
        write_json(args.summary_json, gate.to_json(recorded, model, baseline, dataset.name, split))
    if recorded.result.verdict.blessed:
        return EXIT_OK
    for line in gate_markdown.failed_rules(recorded.result):
        print(f"robustfx gate: FAILED {line}", file=sys.stderr)
    return EXIT_FAILED


def command_kfp_compile(args: argparse.Namespace) -> int:
    from robustfx.kubeflow.config import KubeflowConfig

    kubeflow = config_from_args(KubeflowConfig, args)
    config = run_config(args)
    from robustfx.data.metadata import locate_dataset
    from robustfx.kubeflow.compile import compile_pipeline

    dataset = locate_dataset(config.data.dataset, config.data.data_dir)
    path = compile_pipeline(config, dataset, kubeflow, args.output)
    print(f"KFP v2 pipeline spec written to {path} (image {kubeflow.image})")
    return EXIT_OK


def command_kfp_schedule(args: argparse.Namespace) -> int:
    from robustfx.kubeflow.config import ScheduleConfig
    from robustfx.kubeflow.schedule import ScheduleError, schedule

    config = config_from_args(ScheduleConfig, args)
    try:
        result = schedule(args.spec, config)
    except ScheduleError as error:
        print(f"robustfx: kfp error: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(
        f"scheduled {config.job_name} ({result.cron}) in experiment {config.experiment}: "
        f"pipeline {result.pipeline_id} version {result.version_id}, recurring run "
        f"{result.recurring_run_id}"
        + (f" (replaced {', '.join(result.replaced)})" if result.replaced else "")
    )
    return EXIT_OK


def command_kfp_run_local(args: argparse.Namespace) -> int:
    from robustfx.kubeflow.local.config import LocalRunConfig

    config = config_from_args(LocalRunConfig, args)
    from robustfx.kubeflow.local.outcome import TaskFailed
    from robustfx.kubeflow.local.run import run_spec

    try:
        run = run_spec(
            config, on_task=lambda task: print(f"{task.name}: {task.describe()}", flush=True)
        )
    except TaskFailed as error:
        print(f"robustfx: kfp run-local: {error}; later tasks did not run", file=sys.stderr)
        print(f"run {error.run.run_id}: FAILED at {error.task} ({error.run.metadata_path})")
        if args.summary_json:  # the tasks that completed, and where the run stopped
            failed = {"task": error.task, "error": error.error, "log": error.log}
            write_json(args.summary_json, {"run": _local_run_record(error.run, failed)})
        return EXIT_FAILED
    from robustfx.kubeflow.local.summary import summarize_local_run

    summary = summarize_local_run(run)
    print(f"run {run.run_id}: complete; outputs under {run.run_root}")
    print(f"ML Metadata: {run.metadata_path}")
    if summary is not None:
        print(summary.render())
    if args.summary_json:
        payload = summary.to_dict() if summary is not None else {}
        payload["run"] = _local_run_record(run)
        write_json(args.summary_json, payload)
    return EXIT_OK


def _local_run_record(run, failed: Optional[dict] = None) -> dict:
    """A local run as `kfp run-local --summary-json` records it under ``run``."""
    return {
        "run_id": run.run_id,
        "run_root": run.run_root,
        "metadata": run.metadata_path,
        "tasks": [dataclasses.asdict(task) for task in run.tasks],
        "failed": failed,
    }


def command_data_prepare(args: argparse.Namespace) -> int:
    data = config_from_args(DataConfig, args, skip=("dataset", "resize"))
    # One line, not TFDS's progress bars and messages: the first step of `scripts/run`.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.getLogger().setLevel(logging.WARNING)
    import tensorflow_datasets as tfds

    from robustfx.data.prepare import prepare_mnist_5k

    tfds.disable_progress_bar()
    with contextlib.redirect_stdout(io.StringIO()):
        info = prepare_mnist_5k(data.data_dir, force=args.force)
    splits = ", ".join(f"{name}={count}" for name, count in sorted(info.splits.items()))
    print(f"{info.name} {info.version} ready at {info.directory} ({splits})")
    return EXIT_OK


def command_history(args: argparse.Namespace) -> int:
    from robustfx.pipeline.history import render_history, run_history
    from robustfx.pipeline.mlmd import open_store

    rows = run_history(open_store(os.path.join(args.pipeline_root, METADATA_FILE)))
    if args.json:
        print(json.dumps([row.to_dict() for row in rows], indent=2))
    else:
        print(render_history(rows))
    return EXIT_OK


HANDLERS = {
    ("run", None): command_run,
    ("compare", None): command_compare,
    ("gate", None): command_gate,
    ("kfp", "compile"): command_kfp_compile,
    ("kfp", "run-local"): command_kfp_run_local,
    ("kfp", "schedule"): command_kfp_schedule,
    ("data", "prepare"): command_data_prepare,
    ("history", None): command_history,
}
