"""Every corruption by name, and the calls the verdict makes.

- ``CORRUPTIONS``: name -> ``Corruption`` (family, parameter tables with their sources,
  accepted channel counts, function); exactly the names of ``base.corruption_sets``.
- ``apply(name, images, severity)``: the corrupted batch, float32 in [0, 1], same shape;
  severity 0 returns the images unchanged.
- ``compile_corruption(name, severity, image_shape)``: the same as one traced
  ``tf.function`` for any batch size, to reuse for every batch of a Beam worker.
- ``compile_severities(name, severities, image_shape)``: the same for several severities,
  in one trace for a corruption whose rows change no shape (``Corruption.one_trace``).
- ``parameters(name, severity, image_shape)``: the table row and source that apply.
"""

import functools
from typing import Any, Callable, Dict, Sequence, Tuple

import tensorflow as tf

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.base.corruption_sets import ALL_CORRUPTIONS, SEVERITIES
from robustfx.robustness.corruptions import (
    blur,
    digital,
    edges,
    geometric,
    lines,
    noise,
    weather,
)
from robustfx.robustness.corruptions.randomness import example_keys
from robustfx.robustness.corruptions.spec import Corruption, image_size

CORRUPTIONS: Dict[str, Corruption] = {
    corruption.name: corruption
    for family in (noise, blur, geometric, digital, weather, lines, edges)
    for corruption in family.FAMILY
}
if set(CORRUPTIONS) != set(ALL_CORRUPTIONS):  # the names are written once, in base
    raise ImportError(
        f"corruptions implemented {sorted(CORRUPTIONS)} differ from base.corruption_sets' "
        f"{sorted(ALL_CORRUPTIONS)}"
    )


def corruption(name: str) -> Corruption:
    """The corruption called ``name``."""
    if name not in CORRUPTIONS:
        raise ValueError(f"corruption {name!r} is unknown: use one of {', '.join(CORRUPTIONS)}")
    return CORRUPTIONS[name]


def _check(found: Corruption, severity: int, channels: int) -> None:
    if not isinstance(severity, int) or not 0 <= severity <= len(SEVERITIES):
        raise ValueError(f"{found.name}: severity {severity!r} must be an integer in 0..5")
    if channels not in found.channels:
        raise ValueError(
            f"{found.name} needs {' or '.join(map(str, found.channels))} channels, not "
            f"{channels} (RGB-only corruptions are skipped for 1-channel images)"
        )


def parameters(name: str, severity: int, image_shape: Sequence[int]) -> Tuple[Any, str, float]:
    """(parameters, source, scale) ``apply`` uses for images of ``image_shape`` [h, w, c]:
    the table row of ``severity`` (1..5), the table's source, and the image's shorter side
    over the table's reference side."""
    found = corruption(name)
    height, width, channels = (int(side) for side in image_shape)
    _check(found, severity, channels)
    table = found.table(height, width)
    return table.levels[severity - 1], table.source, min(height, width) / table.reference


def apply(name: str, images: tf.Tensor, severity: int) -> tf.Tensor:
    """``images`` [batch, height, width, 1 or 3] float in [0, 1] under corruption ``name``
    at ``severity`` (0: unchanged; 1..5), float32 in [0, 1] with the same shape. Every
    random draw is seeded from each example's bytes and ``name``: the same example always
    gets the same corruption, in any batch and any process."""
    images = tf.convert_to_tensor(images, tf.float32)
    found = corruption(name)
    height, width, channels = image_size(images)
    _check(found, severity, channels)
    if severity == 0:
        return images
    params, _, scale = parameters(name, severity, (height, width, channels))
    return _corrupt(found, images, params, scale)


def _corrupt(found: Corruption, images: tf.Tensor, params, scale: float) -> tf.Tensor:
    corrupted = found.function(images, example_keys(images, found.name), params, scale)
    corrupted = tf.clip_by_value(tf.cast(corrupted, tf.float32), 0.0, 1.0)
    return tf.ensure_shape(corrupted, images.shape)


def _apply_row(name: str, images: tf.Tensor, row: tf.Tensor, scale: float, fields: int):
    """``apply`` given the table row as a float64 tensor ([fields], or a scalar when 0)."""
    params = tuple(tf.unstack(row, num=fields)) if fields else row
    return _corrupt(corruption(name), images, params, scale)


def compile_corruption(
    name: str, severity: int, image_shape: Sequence[int]
) -> Callable[[tf.Tensor], tf.Tensor]:
    """``apply(name, ., severity)`` traced once for images of ``image_shape`` [h, w, c] and
    any batch size. The corruptions hold no Python control flow on tensors, so AutoGraph is
    off: tracing then takes a fraction of the time."""
    corruption(name)  # a bad name fails here, not at the first batch
    spec = tf.TensorSpec([None, *(int(side) for side in image_shape)], tf.float32)
    # The partial gives each (corruption, severity) its own key in TensorFlow's retracing
    # detector, which would count the single first traces of many lambdas of one code object
    # as retracing of one function.
    return tf.function(
        functools.partial(apply, name, severity=severity),
        input_signature=[spec],
        autograph=False,
    )


def compile_severities(
    name: str, severities: Sequence[int], image_shape: Sequence[int]
) -> Dict[int, Callable[[tf.Tensor], tf.Tensor]]:
    """Severity -> ``compile_corruption(name, severity, image_shape)``'s function, for each
    of ``severities``, traced as few times as the corruption allows. When no parameter of
    its table changes a shape (``Corruption.one_trace``), one trace serves them all: it takes
    the severity's row as float64 tensors and gives the same images, bit for bit, as the
    trace of each severity (the row's arithmetic is float64 as Python's, and each parameter
    meets the images as the same float32). Otherwise each severity is traced apart."""
    found = corruption(name)
    rows = {s: parameters(name, s, image_shape) for s in severities if s != 0}
    if not (found.one_trace and rows):
        return {s: compile_corruption(name, s, image_shape) for s in severities}
    (scale,) = {scale for _, _, scale in rows.values()}
    first = next(iter(rows.values()))[0]
    fields = len(first) if isinstance(first, tuple) else 0
    images = tf.TensorSpec([None, *(int(side) for side in image_shape)], tf.float32)
    row_spec = tf.TensorSpec([fields] if fields else [], tf.float64)
    traced = tf.function(
        functools.partial(_apply_row, name, scale=scale, fields=fields),
        input_signature=[images, row_spec],
        autograph=False,
    )

    def bound(row) -> Callable[[tf.Tensor], tf.Tensor]:
        return functools.partial(traced, row=tf.constant(row, tf.float64))

    return {
        s: bound(rows[s][0]) if s in rows else compile_corruption(name, s, image_shape)
        for s in severities
    }
