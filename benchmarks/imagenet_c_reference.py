"""The project's nine ImageNet-C families against the ``imagecorruptions`` package, measured.

``imagecorruptions`` 1.1.2 (PyPI) packages ImageNet-C's corruptions for images of any size.
It needs scikit-image and OpenCV; keep them out of the project's virtualenv:

  pip install --target REFDEPS --no-deps imagecorruptions==1.1.2 scikit-image==0.19.3 \\
      'opencv-python-headless<4.11' networkx==3.2.1 'imageio<2.35' 'tifffile<2024' \\
      'PyWavelets<1.7'
  PYTHONPATH=REFDEPS .venv/bin/python benchmarks/imagenet_c_reference.py \
      --hendrycks ROBUSTNESS_CHECKOUT [--expected FILE]

The images are ``CROPS`` 224 x 224 crops of scikit-learn's two sample photos (ImageNet's
size, so the project uses ImageNet-C's tables, as the package does at any size). For each
family and severity it prints ``fidelity.change_statistics`` of the project and of the
reference, numpy seeded once per row for the reference; ``--expected`` writes the
reference's as JSON with their source, for the tests. The two draw differently, so random
corruptions agree in distribution, not pixel for pixel.

The package returns uint8, rounding its float results down: half a grey level is added back
before measuring (not to JPEG and pixelation, whose results are whole grey levels already).
Its elastic transform is a rewrite (no random affine map, the field scaled to the image),
much milder at severities 1-2 than ImageNet-C's published code, which the project follows:
for it the reference is hendrycks/robustness' ImageNet-C/imagenet_c/imagenet_c/corruptions.py
(``--hendrycks``: a checkout of that repository; its module needs Wand like MNIST-C's).
"""

import argparse
import importlib.util
import json
import os
import zlib

import numpy as np

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)

SIDE = 224
CROPS = 8
COMPARED = ("change_mean", "change_sd", "ink_added", "ink_removed")
HENDRYCKS = "ImageNet-C/imagenet_c/imagenet_c/corruptions.py"
FROM_HENDRYCKS = ("elastic_transform",)
WHOLE_LEVELS = ("jpeg_compression", "pixelate")  # PIL images, not rounded down


def photos() -> np.ndarray:
    """[CROPS, 224, 224, 3] uint8 crops of scikit-learn's sample photos."""
    from sklearn.datasets import load_sample_images

    crops = []
    for photo in load_sample_images().images:
        height, width, _ = photo.shape
        for row in (0, height - SIDE):
            for col in (0, width - SIDE):
                crops.append(photo[row : row + SIDE, col : col + SIDE])
    return np.stack(crops[:CROPS])


def load_hendrycks(checkout: str):
    """ImageNet-C's published corruptions module, imported from ``checkout`` unmodified."""
    spec = importlib.util.spec_from_file_location("imagenet_c", os.path.join(checkout, HENDRYCKS))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reference_corrupt(name: str, severity: int, images: np.ndarray, hendrycks) -> np.ndarray:
    from imagecorruptions import corrupt

    np.random.seed(zlib.crc32(f"{name}/{severity}".encode()))
    if name in FROM_HENDRYCKS:
        function = getattr(hendrycks, name)
        out = [np.clip(np.asarray(function(image, severity)), 0, 255) for image in images]
        return np.stack(out).astype(np.float64) / 255.0
    out = [np.asarray(corrupt(image, corruption_name=name, severity=severity)) for image in images]
    half = 0.0 if name in WHOLE_LEVELS else 0.5
    return np.clip((np.stack(out).astype(np.float64) + half) / 255.0, 0, 1)


def compare(hendrycks) -> dict:
    from robustfx.base.corruption_sets import RGB_CORRUPTIONS
    from robustfx.robustness.corruptions import fidelity
    from robustfx.robustness.corruptions.registry import apply

    images = photos()
    clean = images.astype(np.float32) / 255.0
    found = {}
    for name in RGB_CORRUPTIONS:
        for severity in range(1, 6):
            corrupted = reference_corrupt(name, severity, images, hendrycks)
            theirs = fidelity.change_statistics(clean, corrupted)
            ours = fidelity.change_statistics(clean, apply(name, clean, severity).numpy())
            row = {key: (round(ours[key], 4), round(theirs[key], 4)) for key in COMPARED}
            found.setdefault(name, {})[str(severity)] = theirs
            print(name, severity, "(project, reference)", json.dumps(row), flush=True)
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hendrycks", required=True, help="a checkout of hendrycks/robustness")
    parser.add_argument("--expected", help="write the reference's statistics here (JSON)")
    args = parser.parse_args(argv)
    found = compare(load_hendrycks(args.hendrycks))
    if args.expected:
        source = {
            "reference": "imagecorruptions 1.1.2 (PyPI); elastic_transform: github "
            "hendrycks/robustness ImageNet-C/imagenet_c/imagenet_c/corruptions.py at 8190fe3",
            "libraries": "scikit-image 0.19.3, OpenCV 4.10",
            "images": f"{CROPS} corner crops, 224 x 224, of scikit-learn's two sample photos",
            "seeding": "numpy.random.seed(crc32('name/severity')) once per row, images in order",
            "measured_by": "benchmarks/imagenet_c_reference.py --expected",
        }
        with open(args.expected, "w") as f:
            json.dump({"source": source, "statistics": found}, f, indent=1)


if __name__ == "__main__":
    main()
