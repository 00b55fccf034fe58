"""Which variables the S3 clients get from the standard ones, and which paths are refused."""

import sys
from unittest import mock

import pytest

from robustfx.base import remote_storage
from robustfx.base.remote_storage import RemoteStorageError, client_settings
from robustfx.base.run_config import DataConfig, RunConfig


def test_the_endpoint_url_and_region_reach_both_clients():
    environ = {"AWS_ENDPOINT_URL": "http://minio.kubeflow:9000/", "AWS_REGION": "eu-west-1"}
    assert client_settings(environ) == {
        "S3_ENDPOINT": "http://minio.kubeflow:9000",  # TensorFlow's S3 filesystem
        "AWS_DEFAULT_REGION": "eu-west-1",  # boto3 (Beam) reads no AWS_REGION
    }


def test_the_s3_only_endpoint_wins_as_it_does_for_boto3():
    environ = {"AWS_ENDPOINT_URL": "http://a:1", "AWS_ENDPOINT_URL_S3": "https://b:2"}
    assert client_settings(environ)["S3_ENDPOINT"] == "https://b:2"


def test_values_already_set_are_kept_and_the_ca_bundle_is_shared():
    environ = {
        "AWS_ENDPOINT_URL": "https://s3.example:9000",
        "S3_ENDPOINT": "https://s3.example:9000",
        "AWS_DEFAULT_REGION": "us-east-2",
        "AWS_CA_BUNDLE": "/etc/ssl/store.pem",
    }
    assert client_settings(environ) == {
        "AWS_REGION": "us-east-2",
        "S3_CA_FILE": "/etc/ssl/store.pem",
    }


def test_nothing_is_added_without_settings():
    assert client_settings({}) == {}


@pytest.mark.parametrize("endpoint", ["minio:9000", "ftp://host:21", "http://"])
def test_an_endpoint_that_is_not_a_url_is_refused(endpoint):
    with pytest.raises(RemoteStorageError, match="AWS_ENDPOINT_URL=.*http://HOST:PORT"):
        client_settings({"AWS_ENDPOINT_URL": endpoint})


def test_two_different_endpoints_are_refused():
    environ = {"AWS_ENDPOINT_URL": "http://a:1", "S3_ENDPOINT": "http://b:2"}
    with pytest.raises(RemoteStorageError, match="unset S3_ENDPOINT"):
        client_settings(environ)


def test_object_store_use_is_read_from_paths_and_documents():
    assert remote_storage.uses_object_store(["/data", '{"uri": "s3://b/k"}'])
    assert remote_storage.uses_object_store(["--root=minio://mlpipeline/v2"])
    assert not remote_storage.uses_object_store(["/data", "gs://b/k", ""])


def test_minio_uris_map_to_the_same_bucket_and_key():
    assert remote_storage.to_s3("minio://mlpipeline/v2/artifacts/x") == (
        "s3://mlpipeline/v2/artifacts/x"
    )
    assert remote_storage.to_s3("gs://b/k") == "gs://b/k"


def test_a_minio_path_given_by_a_person_is_refused_with_the_fix():
    with pytest.raises(RemoteStorageError) as error:
        remote_storage.check_path("minio://mlpipeline/serving", "--serving-dir")
    assert "'s3://mlpipeline/serving'" in str(error.value)
    assert "AWS_ENDPOINT_URL" in str(error.value)
    assert remote_storage.check_path("s3://b/serving", "--serving-dir") == "s3://b/serving"


def test_enable_leaves_a_process_with_local_paths_alone():
    environ = {"AWS_ENDPOINT_URL": "http://a:1"}
    with mock.patch.object(remote_storage, "_enabled", False), mock.patch.dict(sys.modules):
        sys.modules.pop("tensorflow_io", None)
        assert not remote_storage.enable(["/local/data", "gs://b/k"], environ=environ)
        assert "tensorflow_io" not in sys.modules
    assert environ == {"AWS_ENDPOINT_URL": "http://a:1"}


@pytest.mark.parametrize(
    "build, field",
    [
        (lambda: RunConfig(serving_dir="minio://mlpipeline/serving"), "serving_dir"),
        (lambda: DataConfig(data_dir="minio://mlpipeline/tfds"), "data_dir"),
    ],
)
def test_a_run_refuses_minio_data_and_serving_dirs_naming_the_s3_spelling(build, field):
    with pytest.raises(RemoteStorageError, match=f"{field}=.*give 's3://mlpipeline/"):
        build()


def test_a_run_keeps_s3_dirs_as_given():
    config = RunConfig(serving_dir="s3://b/serving", data=DataConfig(data_dir="s3://b/tfds"))
    assert (config.serving_dir, config.data.data_dir) == ("s3://b/serving", "s3://b/tfds")
