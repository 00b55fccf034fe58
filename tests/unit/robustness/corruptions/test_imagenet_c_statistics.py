"""Each ImageNet-C family, at every severity, does to real RGB photos what its reference does:
the same mean pixel change, spread of the change within an image, and brightness added.

The references are the ``imagecorruptions`` package (1.1.2, PyPI: ImageNet-C's code for any
image size) and, for the elastic transform, which that package rewrote, ImageNet-C's own
published code (hendrycks/robustness), which the project follows. Their statistics were
measured once by ``benchmarks/imagenet_c_reference.py --expected`` on 224 x 224 crops of
scikit-learn's sample photos (ImageNet's size: the project uses ImageNet-C's tables there)
and are kept, with their source, in ``imagenet_c_reference.json`` beside this file.
"""

import json
import pathlib

import numpy as np
import pytest

import robustfx  # noqa: F401  (pins Keras 2 before any test imports TensorFlow)

EXPECTED = json.loads((pathlib.Path(__file__).parent / "imagenet_c_reference.json").read_text())
STATISTICS = EXPECTED["statistics"]
SIDE, CROPS = 224, 8
MEAN_TOLERANCE = 0.005  # plus 6% of the mean change
TOLERANCE = 0.15  # relative, for the spread within an image and the brightness added
# Families whose draws vary so much between images that eight photos leave a wider margin.
WIDER = {
    "elastic_transform": 0.3,  # the random affine map of severities 1-2 moves photos by 5-10%
    "snow": 0.2,  # the flakes' layer and their streak's angle
}


@pytest.fixture(scope="module")
def photos():
    """The reference's images: the corner crops of scikit-learn's two sample photos."""
    from sklearn.datasets import load_sample_images

    crops = []
    for photo in load_sample_images().images:
        height, width, _ = photo.shape
        for row in (0, height - SIDE):
            for col in (0, width - SIDE):
                crops.append(photo[row : row + SIDE, col : col + SIDE])
    return (np.stack(crops[:CROPS]) / 255.0).astype(np.float32)


def test_the_expected_values_cover_every_family_and_say_where_they_come_from():
    from robustfx.base.corruption_sets import RGB_CORRUPTIONS

    assert set(STATISTICS) == set(RGB_CORRUPTIONS)
    assert "imagecorruptions 1.1.2" in EXPECTED["source"]["reference"]
    assert all(len(rows) == 5 for rows in STATISTICS.values())


@pytest.mark.parametrize("name", sorted(STATISTICS))
def test_the_family_changes_photos_as_its_reference_does(name, photos):
    from robustfx.robustness.corruptions import fidelity
    from robustfx.robustness.corruptions.registry import apply

    tolerance = WIDER.get(name, TOLERANCE)
    for severity, expected in STATISTICS[name].items():
        found = fidelity.change_statistics(photos, apply(name, photos, int(severity)).numpy())
        where = f"{name} severity {severity}"
        mean_bound = MEAN_TOLERANCE + 0.06 * abs(expected["change_mean"])
        assert found["change_mean"] == pytest.approx(expected["change_mean"], abs=mean_bound), where
        assert found["change_sd"] == pytest.approx(expected["change_sd"], rel=tolerance), where
        assert found["ink_added"] == pytest.approx(expected["ink_added"], rel=tolerance, abs=50), (
            where
        )
