"""Command-line flags and the typed configs they build, for every ``robustfx`` command.

Each ``add_*_flags`` function declares one command's flags with their defaults taken from the
config classes; each ``*_from_args`` function turns parsed flags into validated configs.
"""

import argparse
import dataclasses
import os
from typing import List, Optional, Sequence

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

DEFAULTS = RunConfig()


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
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


def add_data_flags(parser: argparse.ArgumentParser, dataset: str = DEFAULTS.data.dataset) -> None:
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


def add_run_flags(parser: argparse.ArgumentParser, d: RunConfig) -> None:
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default=None,
        help="Start from a write-up's settings: mnist (the NSL tutorial) or beans (the "
        "beans article). Flags given explicitly still win; defaults shown below include it.",
    )
    add_data_flags(parser, d.data.dataset)
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


def add_gate_flags(parser: argparse.ArgumentParser) -> None:
    d = DEFAULTS.evaluation
    candidate = parser.add_argument_group("candidate (exactly one)")
    candidate.add_argument("--model", help="SavedModel directory of the candidate.")
    candidate.add_argument(
        "--pipeline-root",
        help="Use the newest model the RobustnessEvaluator blessed under this pipeline root.",
    )
    parser.add_argument("--baseline", help="SavedModel directory of the production model.")
    add_data_flags(parser)
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
        help="Beam pipeline argument, repeatable (default: " + " ".join(DEFAULTS.beam_args) + ").",
    )


def add_kubeflow_flags(parser: argparse.ArgumentParser) -> None:
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


def parse_key_values(
    items: Sequence[str], flag: str, convert=str, example: str = "KEY=VALUE"
) -> dict:
    """``['a=1', 'b=2']`` -> ``{'a': convert('1'), 'b': convert('2')}``.

    Raises:
      ConfigError: an item lacks '=' or a key, or its value does not convert.
    """
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            converted = convert(value)
        except ValueError:
            sep = ""
        if not sep or not key.strip():
            raise ConfigError(f"{flag} {item!r} is not {example}")
        pairs[key.strip()] = converted
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
            options=parse_key_values(args.beam_option, "--beam-option"),
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


def add_schedule_flags(parser: argparse.ArgumentParser) -> None:
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
        else DEFAULTS.evaluation.attacks
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
        beam_args=tuple(args.beam_arg) if args.beam_arg else DEFAULTS.beam_args,
        enable_cache=not args.no_cache,
    )


def defaults_for(preset_name: Optional[str]) -> RunConfig:
    """The run defaults, with a preset's settings applied."""
    if not preset_name:
        return DEFAULTS
    preset = get_preset(preset_name)
    return dataclasses.replace(
        DEFAULTS,
        data=DataConfig(dataset=preset.dataset, resize=preset.resize),
        model=preset.model,
        training=preset.training,
        adversarial=preset.adversarial,
    )
