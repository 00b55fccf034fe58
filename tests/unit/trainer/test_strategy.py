"""The strategy choice for a cluster (TF_CONFIG), which replica writes, and how a
multi-worker job shards its input. The real two-worker run is tests/e2e/test_multi_worker_e2e.py."""

import json

import pytest
import tensorflow as tf

from robustfx.trainer import input_pipeline
from robustfx.trainer import run as run_lib
from robustfx.trainer import strategy as strategy_lib


def _tf_config(task_type="worker", index=0, chief=False, workers=2) -> dict:
    cluster = {"worker": [f"127.0.0.1:{2000 + i}" for i in range(workers)]}
    if chief:
        cluster["chief"] = ["127.0.0.1:1999"]
    return {
        "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": task_type, "index": index}})
    }


def test_a_cluster_of_two_gets_the_multi_worker_strategy():
    sentinel = object()
    chosen = strategy_lib.select_strategy(
        "auto", list_gpus=lambda: [], environ=_tf_config(), multi_worker=lambda: sentinel
    )
    assert chosen is sentinel


def test_a_cluster_of_one_or_no_tf_config_trains_alone():
    def fail():
        raise AssertionError("a single replica must not start collectives")

    for environ in ({}, _tf_config(workers=1)):
        chosen = strategy_lib.select_strategy(
            "auto", list_gpus=lambda: [], environ=environ, multi_worker=fail
        )
        assert chosen is tf.distribute.get_strategy()


def test_a_cluster_asking_for_gpus_without_any_fails_loudly():
    with pytest.raises(RuntimeError, match="no GPU"):
        strategy_lib.select_strategy(
            "gpu", list_gpus=lambda: [], environ=_tf_config(), multi_worker=object
        )


def test_malformed_tf_config_is_named():
    with pytest.raises(RuntimeError, match="TF_CONFIG is not valid JSON"):
        strategy_lib.cluster_workers({"TF_CONFIG": "{not json"})


def test_cluster_size_counts_chief_and_workers():
    assert strategy_lib.cluster_workers({}) == 0
    assert strategy_lib.cluster_workers(_tf_config(workers=3)) == 3
    assert strategy_lib.cluster_workers(_tf_config(workers=2, chief=True)) == 3


def test_the_chief_or_else_worker_zero_writes():
    assert strategy_lib.is_chief({})
    assert strategy_lib.is_chief(_tf_config(index=0))
    assert not strategy_lib.is_chief(_tf_config(index=1))
    assert strategy_lib.is_chief(_tf_config("chief", 0, chief=True))
    assert not strategy_lib.is_chief(_tf_config(index=0, chief=True))


def test_input_is_sharded_by_file_only_when_every_worker_gets_one():
    policy = tf.data.experimental.AutoShardPolicy
    assert input_pipeline.auto_shard_policy(1, 1) == policy.AUTO
    assert input_pipeline.auto_shard_policy(1, 2) == policy.DATA
    assert input_pipeline.auto_shard_policy(4, 2) == policy.FILE


def test_a_replica_that_is_not_the_chief_writes_a_scratch_dir_and_removes_it(tmp_path):
    final = str(tmp_path / "model")
    with run_lib.replica_output_dir(final, chief=False) as scratch:
        assert scratch != final
        (tmp_path / "marker").write_text(scratch)
        open(f"{scratch}/saved_model.pb", "w").close()
    assert not (tmp_path / "model").exists()
    assert not tf.io.gfile.exists((tmp_path / "marker").read_text())
    with run_lib.replica_output_dir(final, chief=True) as chief_dir:
        assert chief_dir == final
