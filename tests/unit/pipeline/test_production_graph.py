"""The production graph's Trainer never validates on the split the gate judges: the
dataset's own validation split when it has one, else a hold-out of train."""

import json

import numpy as np
import pytest

from robustfx.base.evaluation_config import EvaluationConfig
from robustfx.base.run_config import DataConfig, RunConfig
from robustfx.base.validation import ConfigError
from robustfx.data import prepare
from robustfx.data.metadata import locate_dataset
from robustfx.pipeline.production import create_pipeline


def _trainer(config, dataset):
    pipeline = create_pipeline(config, dataset)
    return next(c for c in pipeline.components if c.id == "Trainer")


def _config(data_dir, tmp_path):
    return RunConfig(
        data=DataConfig(data_dir=data_dir),
        pipeline_root=str(tmp_path / "root"),
        serving_dir=str(tmp_path / "serving"),
    )


def test_without_a_validation_split_the_trainer_holds_out_part_of_train(small_mnist, tmp_path):
    data_dir, dataset = small_mnist
    trainer = _trainer(_config(data_dir, tmp_path), dataset)
    properties = trainer.exec_properties
    assert json.loads(properties["eval_args"])["splits"] == ["train"]
    assert json.loads(properties["train_args"])["splits"] == ["train"]
    assert json.loads(properties["custom_config"])["holdout_fraction"] == pytest.approx(0.1)


def test_a_validation_split_is_used_as_it_is(tmp_path, rng):
    splits = {
        split: (rng.randint(0, 255, size=(8, 28, 28, 1)).astype(np.uint8), np.arange(8) % 10)
        for split in ("train", "validation", "test")
    }
    prepare.write_image_dataset(
        "mnist_5k", prepare.MNIST_5K_VERSION, splits, [str(d) for d in range(10)],
        str(tmp_path / "tfds"),
    )  # fmt: skip
    dataset = locate_dataset("mnist_5k", str(tmp_path / "tfds"))
    trainer = _trainer(_config(str(tmp_path / "tfds"), tmp_path), dataset)
    assert json.loads(trainer.exec_properties["eval_args"])["splits"] == ["validation"]
    assert json.loads(trainer.exec_properties["custom_config"])["holdout_fraction"] == 0.0


def test_the_gate_never_judges_the_train_split():
    with pytest.raises(ConfigError, match="split='train' is invalid"):
        EvaluationConfig(split="train")
