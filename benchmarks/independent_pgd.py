"""An independent check of the project's robust accuracy: a plain 100-step PGD.

Written apart from the project's attack code on purpose (it imports nothing of
``robustfx.robustness``): a robust accuracy is only an upper bound, and a number that a
second, separately written attack undercuts is wrong. It loads a SavedModel's
``serving_transformed`` signature, reads a TFDS split's records directly (PNG or JPEG
``image``, int64 ``label``; pixels / 255), and runs L-infinity PGD on the cross-entropy with
a uniform random start, step 2.5 * epsilon / steps, and the best iterate kept per example
(an example counts as broken if any iterate is misclassified).

  .venv/bin/python benchmarks/independent_pgd.py --model SERVING_DIR/VERSION \\
      --data-dir runs/tfds --dataset mnist_5k --split test --epsilon 0.2

Prints one JSON line: clean and PGD accuracy, examples, steps, epsilon.
"""

import argparse
import glob
import json
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def read_split(data_dir: str, dataset: str, split: str):
    """(images float32 [n, h, w, c] in [0, 1], labels int64 [n]) of a TFDS split."""
    versions = sorted(glob.glob(os.path.join(data_dir, dataset, "*")))
    if not versions:
        raise SystemExit(f"no dataset {dataset!r} under {data_dir}")
    files = sorted(glob.glob(os.path.join(versions[-1], f"{dataset}-{split}.tfrecord*")))
    images, labels = [], []
    for record in tf.data.TFRecordDataset(files):
        example = tf.train.Example.FromString(record.numpy())
        feature = example.features.feature
        images.append(tf.io.decode_image(feature["image"].bytes_list.value[0]).numpy())
        labels.append(feature["label"].int64_list.value[0])
    return np.stack(images).astype(np.float32) / 255.0, np.asarray(labels, np.int64)


def pgd_accuracy(logits_fn, images, labels, epsilon, steps, seed=0, batch_size=250):
    """Fraction of examples that no PGD iterate misclassifies."""
    step_size = 2.5 * epsilon / steps
    generator = tf.random.Generator.from_seed(seed)

    @tf.function
    def attack(x, y):
        adv = tf.clip_by_value(x + generator.uniform(tf.shape(x), -epsilon, epsilon), 0.0, 1.0)
        survived = tf.ones_like(y, dtype=tf.bool)
        for _ in tf.range(steps + 1):
            with tf.GradientTape() as tape:
                tape.watch(adv)
                logits = logits_fn(adv)
                loss = tf.reduce_sum(
                    tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
                )
            survived = survived & tf.equal(tf.argmax(logits, axis=1), y)
            step = adv + step_size * tf.sign(tape.gradient(loss, adv))
            adv = tf.clip_by_value(tf.clip_by_value(step, x - epsilon, x + epsilon), 0.0, 1.0)
        return survived

    robust = 0
    for start in range(0, len(labels), batch_size):
        x = tf.constant(images[start : start + batch_size])
        y = tf.constant(labels[start : start + batch_size])
        robust += int(tf.reduce_sum(tf.cast(attack(x, y), tf.int32)))
    return robust / len(labels)


def load_logits_fn(model_dir: str):
    loaded = tf.saved_model.load(model_dir)
    signature = loaded.signatures["serving_transformed"]

    def logits_fn(images):
        return signature(image=images)["logits"]

    logits_fn.loaded = loaded
    return logits_fn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="SavedModel dir (a pushed version).")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--dataset", default="mnist_5k")
    parser.add_argument("--split", default="test")
    parser.add_argument("--epsilon", type=float, default=0.2)
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()
    images, labels = read_split(args.data_dir, args.dataset, args.split)
    logits_fn = load_logits_fn(args.model)
    clean = float(np.mean(np.argmax(logits_fn(tf.constant(images)).numpy(), 1) == labels))
    robust = pgd_accuracy(logits_fn, images, labels, args.epsilon, args.steps)
    print(json.dumps(dict(clean=clean, pgd_accuracy=robust, examples=len(labels),
                          steps=args.steps, epsilon=args.epsilon)))  # fmt: skip


if __name__ == "__main__":
    main()
