"""An ingest that is never stale on open-source KFP: the compiled spec's ImportExampleGen is
never answered from KFP's cache, so a run after the data changed reads the new data, and
what depends on it (StatisticsGen here, the Trainer in the full graph) gets the new examples.

The spec is the one ``kfp compile --target oss`` writes, cut to ImportExampleGen and
StatisticsGen, executed by ``kfp run-local`` with KFP's own cache keys (``cache_key``). The
control turns the ingest's cache back on, as a spec compiled by TFX alone has it: the run
after a data change then reuses the first ingest, which is the bug this guards against.
"""

import json

from tests.helpers.datasets import write_small_mnist
from tests.helpers.kubeflow import LOCAL_BEAM, compile_spec, only_tasks, run_local, write_spec

KEEP = ("ImportExampleGen", "StatisticsGen")


def _run(spec, root, summary):
    assert run_local(spec, "--pipeline-root", str(root), "--summary-json", str(summary)) == 0
    return {task["name"]: task for task in json.loads(summary.read_text())["run"]["tasks"]}


def _examples_in_statistics(task):
    """The number of test examples StatisticsGen counted (from its artifact's stats file)."""
    from tensorflow_metadata.proto.v0 import statistics_pb2
    from tfx.utils import io_utils

    (artifact,) = task["outputs"]["statistics"]
    stats = io_utils.read_bytes_file(f"{artifact['uri']}/Split-test/FeatureStats.pb")
    return statistics_pb2.DatasetFeatureStatisticsList.FromString(stats).datasets[0].num_examples


def test_a_run_after_the_data_changed_reads_the_new_data(tmp_path, capsys):
    data_dir = str(tmp_path / "tfds")
    write_small_mnist(data_dir, train=100, test=40)
    compiled = tmp_path / "compiled.json"
    assert compile_spec(data_dir, compiled, "--kfp-data-dir", data_dir, *LOCAL_BEAM) == 0
    job = only_tasks(json.loads(compiled.read_text()), KEEP)
    spec = write_spec(tmp_path / "spec.json", job)
    root = tmp_path / "root"

    # The ingest cached, as TFX's own compile leaves it: KFP's key does not see the data.
    cached_job = json.loads(json.dumps(job))
    cached_job["pipelineSpec"]["root"]["dag"]["tasks"]["ImportExampleGen"]["cachingOptions"] = {
        "enableCache": True
    }
    cached_spec = write_spec(tmp_path / "cached.json", cached_job)
    seeded = _run(cached_spec, root, tmp_path / "1.json")  # records the ingest's cache key
    write_small_mnist(data_dir, train=100, test=30)  # the nightly data changed

    fresh = _run(spec, root, tmp_path / "2.json")  # as compiled: the ingest is never cached
    assert fresh["ImportExampleGen"]["cached_from"] == 0  # ran again
    assert fresh["StatisticsGen"]["cached_from"] == 0  # new examples: a new cache key
    assert _examples_in_statistics(seeded["StatisticsGen"]) == 40
    assert _examples_in_statistics(fresh["StatisticsGen"]) == 30  # the new data

    stale = _run(cached_spec, root, tmp_path / "3.json")  # the control: the old ingest back
    assert stale["ImportExampleGen"]["cached_from"] == seeded["ImportExampleGen"]["execution_id"]
    assert stale["StatisticsGen"]["cached_from"] == seeded["StatisticsGen"]["execution_id"]
    assert _examples_in_statistics(stale["StatisticsGen"]) == 40  # stale: the data has 30
