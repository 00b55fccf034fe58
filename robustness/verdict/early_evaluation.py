"""``evaluate_early``: the robustness evaluation of a gate that decides as soon as the
evidence does.

The split's examples are judged in rounds over a seeded random order fixed before any look
(``sequential_plan``, by default 128, 256 and 512 examples, then all). Each round attacks and
corrupts only the examples it adds, in a Beam pipeline of its own (``beam_rounds``), with the
same models, suite, corruption set and batch size as ``evaluate``. After each round every
blessing rule gets a bound on the examples so far that holds at whatever round the gate
stops (``sequential``); the gate stops as soon as one rule fails or every rule passes.
Rules still undecided after the last round, which judges every example, are judged exactly
as ``evaluate`` judges them (``sequential.settle``).

The validity checks keep a sample of their own, the first round's examples (the plan's
validity sample, chosen with the order): the epsilon sweep runs on them only, and the checks
judge their counts. A failed check refuses the blessing whatever the rules say, so the gate
stops there too.
"""

import contextlib
import os
from typing import Any, Dict, Iterator, Optional, Sequence

import numpy as np

from robustfx.base.corruption_sets import resolve_corruption_set
from robustfx.base.evaluation_config import EvaluationConfig
from robustfx.base.model_interface_config import ModelInterfaceConfig
from robustfx.base.validation import require
from robustfx.robustness.verdict import beam_rounds, validity
from robustfx.robustness.verdict import sequential as seq
from robustfx.robustness.verdict.beam_evaluation import EvaluationCounts
from robustfx.robustness.verdict.evaluation import conclude, counts_directory
from robustfx.robustness.verdict.metrics import to_metrics
from robustfx.robustness.verdict.outcome import BASELINE, CANDIDATE, EvaluationResult
from robustfx.robustness.verdict.preparation import prepare
from robustfx.robustness.verdict.sequential_plan import DEFAULT_ROUND_SIZES, plan_rounds
from robustfx.robustness.verdict.sequential_result import decided_early
from robustfx.robustness.verdict.sequential_rules import early_rules

ROUND_COUNTS_FILE = "counts-round-{}.jsonl"


@contextlib.contextmanager
def _releasing() -> Iterator[None]:
    try:
        yield
    finally:
        beam_rounds.release()


def _fill(figures: Dict[str, Dict[str, np.ndarray]], found: beam_rounds.RoundResult, size: int):
    """Puts a round's per-example figures at their examples' places (NaN: not judged)."""
    for role, by_name in found.figures.items():
        for name, values in by_name.items():
            figures.setdefault(role, {}).setdefault(name, np.full(size, np.nan))[found.index] = (
                values
            )


def evaluate_early(
    make_pipeline: Any,
    example_files: str,
    model_dir: str,
    config: EvaluationConfig,
    class_names: Sequence[str],
    round_sizes: Sequence[int] = DEFAULT_ROUND_SIZES,
    baseline_model_dir: Optional[str] = None,
    baseline_unusable: str = "",
    tfma_blessed: Optional[bool] = None,
    seed: int = 0,
    raw_image_shape: Optional[Sequence[Optional[int]]] = None,
    output_dir: Optional[str] = None,
    model_interface: Optional[ModelInterfaceConfig] = None,
) -> EvaluationResult:
    """Judges the candidate (and baseline) round by round until the rules are decided.

    Args:
      round_sizes: examples judged after each round but the last, which judges them all.
      seed: seeds the order of the examples, the random starts and the noise control.
      output_dir: where each round's pipeline writes its counts (``ROUND_COUNTS_FILE``).
      The others: as for ``evaluation.evaluate``.

    Returns:
      The result, its ``decided_early`` saying where and why the gate stopped.
    """
    prepared = prepare(
        example_files,
        model_dir,
        config,
        class_names,
        baseline_model_dir,
        baseline_unusable,
        raw_image_shape,
        model_interface=model_interface,
    )
    plan = plan_rounds(beam_rounds.split_size(example_files), seed, round_sizes)
    require(plan.validity_size == plan.ends[0], "the validity sample is the first round's")
    corruptions = resolve_corruption_set(config.corruptions, prepared.image_shape[-1])
    plan_of_attacks = prepared.attack_plan(config)
    rules = early_rules(
        config.thresholds,
        corruptions.corruptions,
        BASELINE in prepared.model_dirs,
        certified=CANDIDATE in plan_of_attacks.certified_roles,
    )
    significance = config.thresholds.significance
    sweep = [attack.name for attack in config.sweep()]  # run on the validity sample only
    references = [attack.name for attack in config.references()]
    found, figures, records, validity_metrics = EvaluationCounts({}), {}, None, None
    with counts_directory(output_dir) as directory, _releasing():
        for round_number in range(1, plan.rounds + 1):
            new = plan.new_in(round_number)
            path = os.path.join(directory, ROUND_COUNTS_FILE.format(round_number))
            with make_pipeline() as pipeline:
                beam_rounds.evaluate_round(
                    pipeline,
                    beam_rounds.indexed_examples(example_files, new),
                    prepared.model_dirs,
                    plan_of_attacks,
                    len(class_names),
                    config.batch_size,
                    path,
                    seed,
                    raw_image_shape,
                    config.corruptions,
                    prepared.interface_dicts(),
                    only=None if round_number == 1 else references,
                    progress=(
                        plan.ends[round_number - 1] - len(new),
                        plan.num_examples,
                        f"round {round_number} of {plan.rounds}",
                    ),
                )
            judged = beam_rounds.read_round(path)
            if round_number == 1:
                validity_metrics = to_metrics(judged.counts.per_model[CANDIDATE], class_names)
                checks = validity.validity_checks(validity_metrics, config, len(class_names))
            found = beam_rounds.merged(found, beam_rounds.without_attacks(judged.counts, sweep))
            _fill(figures, judged, plan.num_examples)
            records = seq.judge_round(
                rules,
                plan,
                round_number,
                significance,
                figures[CANDIDATE],
                figures.get(BASELINE),
                records,
            )
            step = seq.gate_step(records, plan, round_number)
            if step == "continue" and not validity.is_valid(checks):
                step = "fail"  # the blessing is refused whatever the rules say
            if step != "continue":
                break
    result = conclude(found, prepared, config, class_names, tfma_blessed, validity_metrics)
    if step == "settle":
        full = {rule.rule: rule.passed for rule in result.verdict.rules}
        records = seq.settle(records, full, plan)
    return decided_early(result, records, plan, round_number, step, significance)
