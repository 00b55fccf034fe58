"""A real S3 API on 127.0.0.1: moto's server, run from the folder ``scripts/bootstrap.sh``
installs it in (``.venv/moto``; its dependencies conflict with the pinned stack).

``start`` picks a free port, starts ``python -m moto.server`` there, waits until it answers
and creates a bucket; ``stop`` ends it. The server keeps everything in memory.
"""

import dataclasses
import os
import pathlib
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Dict

import portpicker

# The virtualenv running the tests holds the server's own folder beside its packages.
MOTO_DIR = pathlib.Path(sys.prefix) / "moto"
BUCKET = "robustfx-tests"
# Any key pair and region work with moto; real ones never reach it.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
}
START_SECONDS = 60


@dataclasses.dataclass(frozen=True)
class S3Server:
    """A running server: its endpoint, its bucket and the process serving them."""

    endpoint: str
    bucket: str
    process: subprocess.Popen

    @property
    def environ(self) -> Dict[str, str]:
        """The standard variables that point a client at this server."""
        return {"AWS_ENDPOINT_URL": self.endpoint, **CREDENTIALS}

    def url(self, *parts: str) -> str:
        """``s3://BUCKET/part/part...``."""
        return "/".join([f"s3://{self.bucket}", *parts])


def _answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(endpoint, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True  # an S3 error document is an answer
    except OSError:
        return False


def start(log_path: pathlib.Path, bucket: str = BUCKET) -> S3Server:
    """Starts a server on a free port of 127.0.0.1 with ``bucket`` created in it.

    Raises:
      RuntimeError: moto is not installed, or the server did not answer in time.
    """
    if not (MOTO_DIR / "moto").is_dir():
        raise RuntimeError(f"moto is not installed in {MOTO_DIR}: run scripts/bootstrap.sh")
    port = portpicker.pick_unused_port()
    endpoint = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            env={**os.environ, "PYTHONPATH": str(MOTO_DIR)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + START_SECONDS
    while not _answers(endpoint):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process(process)
            raise RuntimeError(f"moto did not start on {endpoint}: see {log_path}")
        time.sleep(0.1)
    server = S3Server(endpoint, bucket, process)
    _client(server).create_bucket(Bucket=bucket)
    return server


def _client(server: S3Server):
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=CREDENTIALS["AWS_REGION"],
    )


def object_keys(server: S3Server, prefix: str) -> list:
    """The keys under ``prefix`` in the server's bucket, read with boto3 (not TensorFlow)."""
    pages = (
        _client(server)
        .get_paginator("list_objects_v2")
        .paginate(Bucket=server.bucket, Prefix=prefix)
    )
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def stop_process(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def stop(server: S3Server) -> None:
    stop_process(server.process)
