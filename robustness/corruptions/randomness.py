"""Per-example randomness: every draw is seeded from the example itself.

An example's key is the 64-bit FarmHash fingerprint of its pixels' bytes (``tf.fingerprint``,
one per example of the batch), mixed with a code of the corruption's name. A draw folds a
stream number into the key and runs a ``tf.random.stateless_*`` op with the Philox algorithm
named explicitly (not ``auto_select``; the stateless Poisson op has Philox built in), one
example at a time: the same example gets the same
draw in any batch, process or run, and whatever the batch around it; two examples differ.

The severity is deliberately not folded in: the five severities of one example share their
random fields and differ only in the parameters, so a higher severity is the same corruption
made stronger, example by example.
"""

import zlib
from typing import Callable

import tensorflow as tf

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)

ALGORITHM = "philox"


def _name_code(name: str, part: int) -> int:
    """A 32-bit signed code of ``name`` (CRC-32: the same in every process, unlike hash())."""
    value = zlib.crc32(f"{name}/{part}".encode())
    return value - (1 << 32) if value >= (1 << 31) else value


def example_keys(images: tf.Tensor, name: str) -> tf.Tensor:
    """[batch, 2] int32 keys: each example's fingerprint, mixed with ``name``'s code."""
    fingerprints = tf.fingerprint(images)  # [batch, 8] uint8, one per example
    pairs = tf.bitcast(tf.reshape(fingerprints, [-1, 2, 4]), tf.int32)
    code = tf.constant([_name_code(name, 0), _name_code(name, 1)], tf.int32)
    return tf.bitwise.bitwise_xor(pairs, code)


def _stream_seed(key: tf.Tensor, stream: int) -> tf.Tensor:
    return tf.random.experimental.stateless_fold_in(key, stream, alg=ALGORITHM)


def _per_example(keys: tf.Tensor, stream: int, draw: Callable[[tf.Tensor], tf.Tensor]):
    return tf.map_fn(
        lambda key: draw(_stream_seed(key, stream)), keys, fn_output_signature=tf.float32
    )


def uniform(keys: tf.Tensor, shape, stream: int, low: float = 0.0, high: float = 1.0):
    """[batch, *shape] floats uniform in [low, high), one independent draw per example."""
    return _per_example(
        keys,
        stream,
        lambda seed: tf.random.stateless_uniform(shape, seed, low, high, alg=ALGORITHM),
    )


def normal(keys: tf.Tensor, shape, stream: int) -> tf.Tensor:
    """[batch, *shape] standard normal floats, one independent draw per example."""
    return _per_example(
        keys, stream, lambda seed: tf.random.stateless_normal(shape, seed, alg=ALGORITHM)
    )


def poisson(keys: tf.Tensor, rates: tf.Tensor, stream: int) -> tf.Tensor:
    """Poisson counts (as floats) with the per-pixel ``rates`` [batch, ...]."""

    def draw(args):
        key, rate = args
        return tf.random.stateless_poisson(
            tf.shape(rate), _stream_seed(key, stream), rate, dtype=tf.float32
        )

    return tf.map_fn(draw, (keys, rates), fn_output_signature=tf.float32)


def signs(keys: tf.Tensor, stream: int, count: int = 1) -> tf.Tensor:
    """[batch, count] random signs, +1 or -1 with equal chance."""
    return tf.where(uniform(keys, [count], stream) < 0.5, -1.0, 1.0)
