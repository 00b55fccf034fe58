"""Checks a prepared TFDS dataset before any component runs.

A corrupt shard, a record without ``image`` or ``label``, an image that does not decode or
does not match the metadata, a label outside the classes, or an empty split would otherwise
surface as a stack trace deep inside a Beam worker, after minutes of work. Here each is named
by shard, record, field and value, and stops the run with nothing written. An image whose
header declares a size beyond the metadata's (a decompression bomb) is refused from the
header (``image_header``), before anything decodes it.
"""

import hashlib
import os
from typing import List, Optional, Sequence

from robustfx.data.image_header import declared_size
from robustfx.data.metadata import DatasetError, DatasetInfo

_MAX_REPORTED = 5
# Where the metadata leaves a side open, the largest image decoded (64 megapixels): an
# encoded header can declare any size, and decoding a few hundred bytes must not take
# gigabytes.
MAX_OPEN_PIXELS = 1 << 26


def header_problem(encoded: bytes, image_shape: Sequence[Optional[int]]) -> Optional[str]:
    """What is wrong with an encoded image, judged from its header alone (a size beyond the
    metadata's: a decompression bomb, for one), or None when it may be decoded."""
    size = declared_size(encoded)
    if size is None:
        return "'image' does not decode as PNG or JPEG (its header is neither)"
    (height, width), (expected_height, expected_width) = size, image_shape[:2]
    if (expected_height and height != expected_height) or (
        expected_width and width != expected_width
    ):
        return (
            f"'image' header declares a {height}x{width} image, the metadata's is "
            f"{expected_height or 'any'}x{expected_width or 'any'} (refused before decoding)"
        )
    if height * width > MAX_OPEN_PIXELS:
        return (
            f"'image' header declares a {height}x{width} image, more than the {MAX_OPEN_PIXELS} "
            "pixels the check decodes where the metadata leaves a side open (refused before "
            "decoding: a decompression bomb?)"
        )
    return None


def _problems_in_shard(path: str, info: DatasetInfo, problems: List[str]) -> int:
    import tensorflow as tf

    height, width, channels = info.image_shape
    shard = os.path.basename(path)
    count = 0
    try:
        for index, record in enumerate(tf.data.TFRecordDataset(path)):
            count += 1
            if len(problems) >= _MAX_REPORTED:
                continue
            where = f"shard {shard}, record {index}"
            try:
                example = tf.train.Example.FromString(record.numpy())
            except Exception:  # noqa: BLE001 - any parse failure is the same finding
                problems.append(f"{where}: not a tf.train.Example")
                continue
            feature = example.features.feature
            if "image" not in feature or not feature["image"].bytes_list.value:
                problems.append(f"{where}: no 'image' bytes")
                continue
            if "label" not in feature or not feature["label"].int64_list.value:
                problems.append(f"{where}: no 'label' integer")
                continue
            label = feature["label"].int64_list.value[0]
            if not 0 <= label < info.num_classes:
                problems.append(f"{where}: label {label} outside [0, {info.num_classes})")
            encoded = feature["image"].bytes_list.value[0]
            problem = header_problem(encoded, info.image_shape)
            if problem:  # never decoded
                problems.append(f"{where}: {problem}")
                continue
            try:
                image = tf.io.decode_image(encoded, channels=0, expand_animations=False)
            except tf.errors.OpError:
                problems.append(f"{where}: 'image' does not decode as PNG or JPEG")
                continue
            shape = tuple(int(side) for side in image.shape)
            expected = (height or shape[0], width or shape[1], channels)
            if shape != expected:
                problems.append(
                    f"{where}: image shape {shape} differs from the metadata's {expected}"
                )
    except tf.errors.DataLossError as error:
        problems.append(f"shard {shard} is corrupt after record {count}: {error.message}")
    return count


def _fingerprint(files: Sequence[str]) -> str:
    """Changes whenever a shard is replaced, resized or touched."""
    digest = hashlib.sha256()
    for path in files:
        stat = os.stat(path)
        digest.update(f"{os.path.abspath(path)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:32]


def check_dataset(
    info: DatasetInfo,
    splits: Optional[Sequence[str]] = None,
    cache_dir: Optional[str] = None,
) -> None:
    """Reads every record of the given splits (default: all) once.

    Args:
      cache_dir: where to remember shards that passed (keyed by path, size and mtime), so
        that re-runs over unchanged data skip the read; None checks every time.

    Raises:
      DatasetError: listing the first problems found (shard, record, field, value).
    """
    import tensorflow as tf

    problems: List[str] = []
    shards = {
        split: sorted(tf.io.gfile.glob(os.path.join(info.directory, info.split_pattern(split))))
        for split in sorted(splits or info.splits)
    }
    marker = None
    if cache_dir:
        marker = os.path.join(cache_dir, f"data-ok-{_fingerprint(sum(shards.values(), []))}")
        if os.path.exists(marker):
            return
    for split, files in shards.items():
        if not files:
            problems.append(f"split {split!r} has no shards ({info.split_pattern(split)})")
            continue
        records = sum(_problems_in_shard(path, info, problems) for path in files)
        if records == 0:
            problems.append(f"split {split!r} is empty")
    if problems:
        more = " (and possibly more)" if len(problems) >= _MAX_REPORTED else ""
        raise DatasetError(
            f"dataset {info.name} at {info.directory} has bad data{more}: "
            + "; ".join(problems[:_MAX_REPORTED])
        )
    if marker:
        os.makedirs(cache_dir, exist_ok=True)
        with open(marker, "w") as f:
            f.write(f"{info.name} {info.version} {info.directory}\n")
