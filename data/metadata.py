"""Finds a prepared TFDS dataset on disk and reads what the pipeline needs from its metadata.

Image shape, channels, class names and split names come from the dataset's own
``dataset_info.json`` / ``features.json`` (written by ``tfds build`` or by
``robustfx data prepare``), never from constants.
"""

import dataclasses
import json
import os
import re
from typing import Dict, Optional, Tuple

from robustfx.base.run_config import DEFAULT_DATASET
from robustfx.base.validation import ConfigError

_VERSION_DIR = re.compile(r"^\d+\.\d+\.\d+$")


class DatasetError(ConfigError):
    """The dataset is unknown, not prepared, or not an image-classification dataset."""


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What the pipeline reads from a prepared TFDS dataset's metadata."""

    name: str
    version: str
    directory: str  # holds the tfrecord shards and dataset_info.json
    image_shape: Tuple[Optional[int], Optional[int], int]
    image_format: str  # 'png' or 'jpeg'
    class_names: Tuple[str, ...]
    splits: Dict[str, int]  # TFDS split name -> number of examples
    file_format: str = "tfrecord"

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def split_pattern(self, split: str) -> str:
        """Glob of the split's shards, relative to ``directory`` (TFDS naming)."""
        return f"{self.name}-{split}.{self.file_format}*"

    @property
    def validation_split(self) -> Optional[str]:
        """The split the Trainer validates on: 'validation' when there is one; None when the
        Trainer must carve a hold-out from train (it never validates on the gate's split)."""
        return "validation" if "validation" in self.splits else None


def prepare_hint(name: str, data_dir: str) -> str:
    """The command that prepares ``name`` into ``data_dir``."""
    if name == DEFAULT_DATASET:
        return f"run `robustfx data prepare --data-dir {data_dir}`"
    return f"run `tfds build {name} --data_dir {data_dir}` on a machine with internet access"


def _known_tfds_names() -> frozenset:
    import tensorflow_datasets as tfds

    return frozenset(tfds.list_builders(with_community_datasets=False))


def _gfile():
    """TensorFlow's file API (gs:// and other remote data dirs), imported when first used."""
    import tensorflow as tf

    return tf.io.gfile


def _find_version_dir(dataset_dir: str, version: Optional[str]) -> Optional[str]:
    gfile = _gfile()
    if not gfile.isdir(dataset_dir):
        return None
    if version:
        candidate = os.path.join(dataset_dir, version)
        return candidate if gfile.exists(os.path.join(candidate, "dataset_info.json")) else None
    versions = [
        entry
        for entry in (name.rstrip("/") for name in gfile.listdir(dataset_dir))
        if _VERSION_DIR.match(entry)
        and gfile.exists(os.path.join(dataset_dir, entry, "dataset_info.json"))
    ]
    if not versions:
        return None
    newest = max(versions, key=lambda v: tuple(int(part) for part in v.split(".")))
    return os.path.join(dataset_dir, newest)


def locate_dataset(name: str, data_dir: str) -> DatasetInfo:
    """Finds ``name`` (optionally ``name:version``) under ``data_dir`` and reads its metadata.

    Raises:
      DatasetError: the name is not a TFDS dataset, it is not prepared under ``data_dir``
        (the message says which command prepares it), or it is not image classification.
    """
    base_name, _, version = name.partition(":")
    version_dir = _find_version_dir(os.path.join(data_dir, base_name), version or None)
    if version_dir is None:
        if base_name != DEFAULT_DATASET and base_name not in _known_tfds_names():
            raise DatasetError(
                f"dataset {base_name!r} is unknown: it is not prepared under {data_dir} and is "
                f"not a TFDS dataset name (the offline default is {DEFAULT_DATASET})"
            )
        raise DatasetError(
            f"dataset {name!r} is not prepared under {data_dir}: "
            f"{prepare_hint(base_name, data_dir)}"
        )
    return read_dataset_info(version_dir)


def _read_json(path: str) -> dict:
    import tensorflow as tf

    try:
        with tf.io.gfile.GFile(path) as f:
            return json.load(f)
    except (OSError, ValueError, tf.errors.OpError) as error:
        raise DatasetError(f"cannot read TFDS metadata {path}: {error}") from error


def read_dataset_info(version_dir: str) -> DatasetInfo:
    """Reads a TFDS version directory (``<data_dir>/<name>/<version>``)."""
    info = _read_json(os.path.join(version_dir, "dataset_info.json"))
    feature_doc = _read_json(os.path.join(version_dir, "features.json"))
    name = info.get("name") or os.path.basename(os.path.dirname(version_dir))
    image, label = _image_and_label_features(feature_doc, name)
    shape = [dim if dim is not None and int(dim) >= 0 else None for dim in _shape(image)]
    if len(shape) != 3 or not shape[2]:
        raise DatasetError(f"dataset {name!r} image shape {shape} is not (height, width, channels)")
    class_names = _class_names(label, version_dir)
    splits = {
        split["name"]: sum(int(n) for n in split.get("shardLengths", []))
        or int(split.get("numExamples", 0) or 0)
        for split in info.get("splits", [])
    }
    if "train" not in splits:
        raise DatasetError(f"dataset {name!r} has no 'train' split (it has {sorted(splits)})")
    return DatasetInfo(
        name=name,
        version=info.get("version", os.path.basename(version_dir)),
        directory=version_dir,
        image_shape=(shape[0], shape[1], int(shape[2])),
        image_format=image.get("image", {}).get("encodingFormat", "png") or "png",
        class_names=tuple(class_names),
        splits=splits,
        file_format=info.get("fileFormat", "tfrecord") or "tfrecord",
    )


def _image_and_label_features(feature_doc: dict, name: str) -> Tuple[dict, dict]:
    # features.json: {"featuresDict": {"features": {"image": {...}, "label": {...}}}}
    try:
        feature_map = feature_doc["featuresDict"]["features"]
    except (KeyError, TypeError):
        raise DatasetError(f"dataset {name!r}: features.json is not a FeaturesDict") from None
    image = feature_map.get("image", {})
    label = feature_map.get("label", {})
    if "image" not in image or "classLabel" not in label:
        raise DatasetError(
            f"dataset {name!r} is not image classification: it needs an 'image' Image feature "
            f"and a 'label' ClassLabel feature, it has {sorted(feature_map)}"
        )
    return image, label


def _shape(image: dict) -> list:
    dims = image["image"].get("shape", {}).get("dimensions", [])
    return [int(d) for d in dims]


def _class_names(label: dict, version_dir: str) -> list:
    class_label = label["classLabel"]
    names_file = os.path.join(version_dir, "label.labels.txt")
    if _gfile().exists(names_file):
        with _gfile().GFile(names_file) as f:
            names = [line.strip() for line in f if line.strip()]
        if names:
            return names
    count = int(class_label.get("numClasses", 0))
    if count < 2:
        raise DatasetError(f"label feature in {version_dir} has {count} classes; need >= 2")
    return [str(index) for index in range(count)]
