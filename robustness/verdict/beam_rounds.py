"""One round of an early-deciding evaluation as a Beam pipeline: the examples the round adds,
chosen by index, attacked and corrupted exactly as ``beam_evaluation`` does, each batch
yielding its mergeable counts and, under ``EXAMPLES``, every example's figures
(``sequential_rules.per_example_figures``) with its index.

An example's index is its position in the split's files read in sorted order, one after the
other (``split_size``, ``indexed_examples``): the order a ``sequential_plan.RoundPlan``
permutes. The examples go into the pipeline in the plan's order, unshuffled, so the same
round batches them the same way in every run.
"""

import dataclasses
import json
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import apache_beam as beam
import numpy as np

from robustfx.robustness.verdict import beam_evaluation as evaluation
from robustfx.robustness.verdict import counts as robustness_counts
from robustfx.robustness.verdict.model_under_attack import AttackPlan
from robustfx.robustness.verdict.sequential_rules import per_example_figures
from robustfx.robustness.verdict.statistics import PairedCounts, PairedScores

EXAMPLES = "examples"  # the key of {"index": [...], "figures": {role: {figure: [...]}}}


def _records(file_pattern: str):
    import tensorflow as tf

    files = sorted(tf.io.gfile.glob(file_pattern))
    compression = "GZIP" if files and files[0].endswith(".gz") else ""
    return tf.data.TFRecordDataset(files, compression_type=compression)


def split_size(file_pattern: str) -> int:
    """How many examples the files of ``file_pattern`` hold.

    Raises:
      ValueError: none.
    """
    size = int(_records(file_pattern).reduce(np.int64(0), lambda count, _: count + 1))
    if not size:
        raise ValueError(f"no examples in {file_pattern}: the evaluated split is empty")
    return size


def indexed_examples(file_pattern: str, indices: Sequence[int]) -> List[Tuple[int, bytes]]:
    """(index, serialized example) of each of ``indices``, in their order; one pass over
    the files, keeping only those."""
    wanted = {int(index) for index in indices}
    found = {
        index: record.numpy()
        for index, record in enumerate(_records(file_pattern))
        if index in wanted
    }
    missing = wanted - set(found)
    if missing:
        raise ValueError(
            f"{file_pattern} has no example {min(missing)}: the split changed during the gate"
        )
    return [(int(index), found[int(index)]) for index in indices]


# The loaded models (with their traced attacks) and corruption functions of a gate's latest
# round, kept for its next round in this process (the direct runner's): loading and tracing
# them again costs a round about as much as attacking 128 examples with the standard suite.
_HELD: Dict[str, tuple] = {}


def release() -> None:
    """Drops what the rounds kept: the gate is done."""
    _HELD.clear()


class RoundBatchesFn(evaluation.AttackBatchesFn):
    """Batches of (index, serialized example) in; the parent's counts and ``EXAMPLES``
    out. ``only``: the plan's attacks on every example that run (all when None);
    ``judged_before`` and ``detail`` set the progress line."""

    def __init__(
        self,
        *args,
        only: Optional[Sequence[str]] = None,
        judged_before: int = 0,
        detail: str = "",
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self._only = list(only) if only is not None else None
        self._seen, self._detail = judged_before, detail

    def load(self) -> None:
        key = json.dumps(
            [
                self._model_dirs,
                self._plan,
                self._num_classes,
                self._seed,
                self._raw_image_shape,
                self._corruption_set,
                self._interfaces,
            ],
            sort_keys=True,
        )
        if key not in _HELD:
            super().load()
            release()
            _HELD[key] = (self._models, self._reader, self._corruptions)
        self._models, self._reader, self._corruptions = _HELD[key]

    def process(self, batch: List[Tuple[int, bytes]]):
        keyed, outcomes = self.judge([serialized for _, serialized in batch])
        yield from keyed
        figures = {
            role: per_example_figures(found, found["robust"], found["corruption"])
            for role, found in outcomes.items()
        }
        yield (
            EXAMPLES,
            {
                "index": [index for index, _ in batch],
                "figures": {
                    role: {name: values.tolist() for name, values in by_name.items()}
                    for role, by_name in figures.items()
                },
            },
        )
        self.report(len(batch), self._detail)


def _merge(parts) -> dict:
    parts = list(parts)
    if not (parts and "index" in parts[0]):
        return evaluation.merge_count_dicts(parts)
    roles = parts[0]["figures"]
    return {
        "index": [index for part in parts for index in part["index"]],
        "figures": {
            role: {
                name: [value for part in parts for value in part["figures"][role][name]]
                for name in roles[role]
            }
            for role in roles
        },
    }


def evaluate_round(
    pipeline: beam.Pipeline,
    examples: Sequence[Tuple[int, bytes]],
    model_dirs: Mapping[str, str],
    plan: AttackPlan,
    num_classes: int,
    batch_size: int,
    output_path: str,
    seed: int = 0,
    raw_image_shape: Optional[Sequence[Optional[int]]] = None,
    corruptions: str = "none",
    interfaces: Optional[Mapping[str, dict]] = None,
    only: Optional[Sequence[str]] = None,
    progress: Tuple[int, int, str] = (0, 0, ""),
) -> None:
    """Adds one round to ``pipeline``: it writes the round's merged counts and per-example
    figures as JSON lines to ``output_path``. Arguments as for
    ``beam_evaluation.evaluate_models``; ``only``: the plan's attacks on every example that
    run (all when None); ``progress``: (examples judged before this round, examples in the
    split, what the progress line says besides)."""
    before, total, detail = progress
    _ = (
        pipeline
        | "Examples" >> beam.Create(list(examples), reshuffle=False)
        | "Batch" >> beam.BatchElements(min_batch_size=batch_size, max_batch_size=batch_size)
        | "Attack"
        >> beam.ParDo(
            RoundBatchesFn(
                model_dirs,
                plan,
                num_classes,
                seed,
                raw_image_shape,
                total or None,
                corruptions=corruptions,
                interfaces=interfaces,
                only=only,
                judged_before=before,
                detail=detail,
            )
        )
        | "MergePerKey" >> beam.CombinePerKey(_merge)
        | "ToJson" >> beam.Map(evaluation.to_json_line)
        | "Write" >> beam.io.WriteToText(output_path, shard_name_template="")
    )


@dataclasses.dataclass
class RoundResult:
    """What rounds found: the merged counts, and each model's per-example figures (role ->
    figure -> values) of the examples ``index`` names, in that order."""

    counts: evaluation.EvaluationCounts
    index: np.ndarray
    figures: Dict[str, Dict[str, np.ndarray]]


def read_round(output_path: str) -> RoundResult:
    """What ``evaluate_round`` wrote."""
    found, examples = evaluation.EvaluationCounts({}), None
    for key, values in evaluation.read_lines(output_path):
        if key == EXAMPLES:
            examples = values
        else:
            evaluation.add_line(found, key, values)
    if examples is None:
        raise ValueError(f"{output_path} holds no examples: the round judged none")
    figures = {
        role: {name: np.asarray(values, np.float64) for name, values in by_name.items()}
        for role, by_name in examples["figures"].items()
    }
    return RoundResult(found, np.asarray(examples["index"], np.int64), figures)


def without_attacks(
    counts: evaluation.EvaluationCounts, names: Sequence[str]
) -> evaluation.EvaluationCounts:
    """``counts`` without the attacks ``names`` (run on one round only, e.g. the sweep)."""
    per_model = {
        role: dataclasses.replace(
            found, attacks={k: v for k, v in found.attacks.items() if k not in names}
        )
        for role, found in counts.per_model.items()
    }
    return dataclasses.replace(counts, per_model=per_model)


def merged(
    left: evaluation.EvaluationCounts, right: evaluation.EvaluationCounts
) -> evaluation.EvaluationCounts:
    """The counts of two sets of examples together."""
    per_model = {
        role: robustness_counts.merge([left.per_model[role], found])
        if role in left.per_model
        else found
        for role, found in right.per_model.items()
    }
    paired = [p for p in (left.paired, right.paired) if p is not None]
    scores = {
        group: PairedScores.merge(
            [s for s in (left.paired_corruption.get(group), found) if s is not None]
        )
        for group, found in right.paired_corruption.items()
    }
    return evaluation.EvaluationCounts(
        per_model, PairedCounts.merge(paired) if paired else None, scores
    )
