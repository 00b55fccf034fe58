"""The project's 15 MNIST-C corruptions against the published code, measured.

The reference is google-research/mnist-c's ``corruptions.py`` (commit ``REFERENCE_COMMIT``),
imported unmodified. It needs scikit-image 0.19.3, OpenCV, Wand and ImageMagick 6's
libraries; keep them out of the project's virtualenv, e.g.

  pip install --target REFDEPS --no-deps scikit-image==0.19.3 'opencv-python-headless<4.11' \\
      Wand networkx==3.2.1 'imageio<2.35' 'tifffile<2024' 'PyWavelets<1.7'
  apt-get download libmagickwand-6.q16-6 libmagickcore-6.q16-6 ... ; dpkg -x each into MAGICK
  PYTHONPATH=REFDEPS MAGICK_HOME=MAGICK/usr LD_LIBRARY_PATH=MAGICK/usr/lib/x86_64-linux-gnu \\
      .venv/bin/python benchmarks/mnist_c_reference.py --reference MNIST_C_CHECKOUT ...

(Wand looks for ``$MAGICK_HOME/lib/libMagickWand-6.Q16.so``: link it there.) numpy >= 1.24
has no ``np.int``, which the reference's ``line_from_points`` calls: it is aliased to ``int``
before the import. Each (corruption, severity) seeds numpy's global generator once
(``reference_seed``) and corrupts the digits in order.

- ``--expected FILE``: the reference's ``fidelity`` statistics on the first ``STAT_DIGITS``
  mnist_5k test digits (and on ``fidelity.impulse_images`` for the corruptions that move
  content), written as JSON with their source, for the tests to hold the project to.
- ``--golden DIR``: one golden image per corruption (``mnist_c_golden.py`` says which and how).
- ``--model DIR``: accuracy of a SavedModel (signature ``serving_transformed``) on the 1,000
  test digits under the project's corruption and under the reference's, per severity.
"""

import argparse
import json
import os
import sys
import time
import zlib

import mnist_c_golden
import numpy as np

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)

REFERENCE_COMMIT = "bba57e4ccc282f106907c5239958e72298451ea7"
STAT_DIGITS = 200
IMPULSES = 144
# The reference's own setting for the corruptions it gives no severities; the project's
# severity that equals it.
SINGLE_SETTING = {"stripe": 3, "dotted_line": 3, "zigzag": 3, "canny_edges": 5}
DISPLACING = ("glass_blur", "motion_blur", "shear", "scale", "rotate", "translate")


def load_reference(directory: str):
    """The published corruptions.py, imported as it is (it reads a file beside itself)."""
    if not hasattr(np, "int"):
        np.int = int  # removed in numpy 1.24; the reference's line_from_points calls it
    sys.path.insert(0, directory)
    here = os.getcwd()
    os.chdir(directory)
    try:
        import corruptions
    finally:
        os.chdir(here)
    return corruptions


def runs():
    """(corruption, project severity, reference severity or None) for every comparison."""
    from robustfx.base.corruption_sets import MNIST_C_CORRUPTIONS

    for name in MNIST_C_CORRUPTIONS:
        if name in SINGLE_SETTING:
            yield name, SINGLE_SETTING[name], None
        else:
            for severity in range(1, 6):
                yield name, severity, severity


def reference_seed(name: str, severity, repeat: int = 0) -> int:
    """numpy's seed for a row (``repeat`` > 0: another draw of the same row)."""
    return zlib.crc32(f"{name}/{severity}".encode() + (f"/{repeat}".encode() if repeat else b""))


def reference_corrupt(reference, name: str, severity, digits: np.ndarray, repeat: int = 0):
    """``digits`` [n, 28, 28] uint8 under the reference's corruption, [n, 28, 28, 1] in [0, 1]."""
    from PIL import Image

    function = getattr(reference, name)
    np.random.seed(reference_seed(name, severity, repeat))
    out = []
    for digit in digits:
        image = Image.fromarray(digit)
        value = function(image) if severity is None else function(image, severity)
        out.append(np.clip(np.asarray(value, np.float64) / 255.0, 0, 1))
    return np.stack(out).astype(np.float32)[..., None]


def project_corrupt(name: str, severity: int, images: np.ndarray, batch: int = 250):
    from robustfx.robustness.corruptions.registry import compile_corruption

    function = compile_corruption(name, severity, images.shape[1:])
    return np.concatenate(
        [function(images[i : i + batch]).numpy() for i in range(0, len(images), batch)]
    )


def test_digits():
    from robustfx.data import prepare

    images, labels = prepare.load_mnist_5k()
    return prepare.split_mnist_5k(images, labels)["test"]


def expected_statistics(reference) -> dict:
    """The reference's statistics per corruption and severity, with their source."""
    from robustfx.robustness.corruptions import fidelity

    digits = test_digits()[0][:STAT_DIGITS, ..., 0]
    clean = digits[..., None].astype(np.float32) / 255.0
    impulses = fidelity.impulse_images(IMPULSES)
    impulse_digits = np.round(impulses[..., 0] * 255).astype(np.uint8)
    found = {}
    for name, severity, ref_severity in runs():
        corrupted = reference_corrupt(reference, name, ref_severity, digits)
        entry = {"reference_severity": ref_severity, **fidelity.change_statistics(clean, corrupted)}
        if name in DISPLACING:
            moved = reference_corrupt(reference, name, ref_severity, impulse_digits)
            entry["displacement"] = fidelity.displacement_statistics(impulses, moved)
        found.setdefault(name, {})[str(severity)] = entry
        print(name, severity, json.dumps(entry), flush=True)
    return {
        "source": {
            "reference": f"github google-research/mnist-c corruptions.py at {REFERENCE_COMMIT}",
            "libraries": "scikit-image 0.19.3, OpenCV 4.10, Wand 0.7.2, ImageMagick 6.9.11 Q16",
            "digits": f"the first {STAT_DIGITS} mnist_5k test digits (prepare.split_mnist_5k)",
            "impulses": f"fidelity.impulse_images({IMPULSES}) for {', '.join(DISPLACING)}",
            "seeding": "numpy.random.seed(crc32('name/severity')) once per row, digits in order",
            "measured_by": "benchmarks/mnist_c_reference.py --expected",
        },
        "statistics": found,
    }


def accuracies(reference, model_dir: str, repeats: int = 1, only=()) -> dict:
    """Accuracy per corruption and severity on the 1,000 test digits, project and reference
    (the mean over ``repeats`` draws of the reference, their range beside it); ``only``: just
    these corruptions."""
    import tensorflow as tf

    model = tf.saved_model.load(model_dir)
    predict = model.signatures["serving_transformed"]

    def accuracy(images, labels):
        logits = np.concatenate(
            [
                predict(tf.constant(images[i : i + 250]))["logits"].numpy()
                for i in range(0, len(images), 250)
            ]
        )
        return float((logits.argmax(axis=1) == labels).mean())

    digits, labels = test_digits()
    clean = digits.astype(np.float32) / 255.0
    found = {"clean": accuracy(clean, labels), "runs": []}
    for name, severity, ref_severity in runs():
        if only and name not in only:
            continue
        start = time.perf_counter()
        ours = accuracy(project_corrupt(name, severity, clean), labels)
        theirs, draws = None, []
        if reference is not None:
            draws = [
                accuracy(
                    reference_corrupt(reference, name, ref_severity, digits[..., 0], k), labels
                )
                for k in range(repeats)
            ]
            theirs = float(np.mean(draws))
        row = {"corruption": name, "severity": severity, "reference_severity": ref_severity,
               "project": ours, "reference": theirs,
               "difference": None if theirs is None else ours - theirs,
               "reference_draws": draws}  # fmt: skip
        found["runs"].append(row)
        print(json.dumps(row), f"{time.perf_counter() - start:.0f} s", flush=True)
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", help="a checkout of google-research/mnist-c")
    parser.add_argument("--expected", help="write the reference's statistics here (JSON)")
    parser.add_argument("--golden", help="write the golden images into this folder")
    parser.add_argument("--model", help="a SavedModel to judge both corruptions with")
    parser.add_argument("--out", help="write the accuracies here (JSON)")
    parser.add_argument("--repeats", type=int, default=1, help="draws of the reference per row")
    parser.add_argument("--only", default="", help="comma-separated corruptions to judge")
    parser.add_argument(
        "--project-only", action="store_true", help="judge the project's corruptions alone"
    )
    args = parser.parse_args(argv)
    reference = None if args.project_only else load_reference(args.reference)
    if args.expected:
        with open(args.expected, "w") as f:
            json.dump(expected_statistics(reference), f, indent=1)
    if args.golden:
        mnist_c_golden.write_all(
            reference, args.golden, test_digits()[0][:, ..., 0], reference_seed
        )
    if args.model:
        only = tuple(name for name in args.only.split(",") if name)
        result = accuracies(reference, args.model, args.repeats, only)
        if args.out:
            with open(args.out, "w") as f:
                json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
