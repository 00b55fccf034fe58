"""What ``saved_model.pb`` says, read without loading: the attack signature's input shape
against the dataset's, before the model runs."""

import os

import pytest

from robustfx.robustness.models.saved_models import (
    MAX_UPSCALE,
    ModelSignatureError,
    check_input_shape,
    read_saved_model,
)
from tests.helpers.models import save_untrusted_model

MNIST = (28, 28, 1)


def test_the_dataset_shape_passes_and_is_returned(tmp_path):
    assert check_input_shape(save_untrusted_model(tmp_path / "m"), MNIST) == (28, 28, 1)


def test_a_model_trained_with_resize_passes(tmp_path):
    model_dir = save_untrusted_model(tmp_path / "m", image_shape=(14, 14, 1))
    assert check_input_shape(model_dir, MNIST) == (14, 14, 1)
    assert check_input_shape(model_dir, (None, None, 1)) == (14, 14, 1)  # open sides


@pytest.mark.parametrize(
    "image_shape, message, fix",
    [
        ((28, 28, 3), "takes 3-channel images, the dataset has 1 channels", "--dataset"),
        (
            (28 * MAX_UPSCALE + 1, 28, 1),
            f"more than {MAX_UPSCALE} times the dataset's 28x28 per side",
            "--dataset",
        ),
        ((784,), r"takes images of shape \[None, 784\], not \[batch, height", "--signature"),
    ],
    ids=["channels", "far-larger", "flat"],
)
def test_a_mismatch_is_refused_before_it_runs(tmp_path, image_shape, message, fix):
    model_dir = save_untrusted_model(tmp_path / "m", image_shape=image_shape)
    with pytest.raises(ModelSignatureError, match=message) as refused:
        check_input_shape(model_dir, MNIST)
    assert "signature 'serving_transformed'" in str(refused.value)
    assert "refused before it runs" in str(refused.value) and fix in str(refused.value)


def _open_sides(model_dir):
    saved = read_saved_model(model_dir)
    dims = saved.meta_graphs[0].signature_def["serving_transformed"].inputs["image"]
    dims.tensor_shape.dim[1].size = dims.tensor_shape.dim[2].size = -1
    with open(os.path.join(model_dir, "saved_model.pb"), "wb") as f:
        f.write(saved.SerializeToString())
    return model_dir


def test_unknown_sides_take_the_datasets(tmp_path):
    model_dir = _open_sides(save_untrusted_model(tmp_path / "m"))
    assert check_input_shape(model_dir, MNIST) == (28, 28, 1)
    with pytest.raises(ModelSignatureError, match=r"\[None, None, None, 1\].*known sides"):
        check_input_shape(model_dir, (None, None, 1))


def test_a_single_channel_model_may_leave_the_channel_axis_out(tmp_path):
    model_dir = save_untrusted_model(tmp_path / "m", image_shape=(28, 28))
    assert check_input_shape(model_dir, MNIST) == (28, 28, 1)


def test_a_missing_savedmodel_is_named(tmp_path):
    with pytest.raises(ModelSignatureError, match="is not a SavedModel"):
        read_saved_model(str(tmp_path))
