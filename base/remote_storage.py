"""S3-compatible object storage (AWS S3, MinIO, Ceph) for every process of the project.

Three clients read and write the project's files, and each is configured its own way:

- TensorFlow's ``tf.io.gfile`` (TFX's ``fileio``, SavedModels, TFDS metadata) gets ``s3://``
  from ``tensorflow-io``'s filesystem plugin, registered by ``import tensorflow_io``. The
  plugin reads ``S3_ENDPOINT`` (a URL with its scheme: ``http://HOST:PORT``; a bare
  ``HOST:PORT`` is taken as https), ``S3_CA_FILE`` and the AWS SDK's own ``AWS_*`` variables.
- Beam's S3 filesystem (``apache-beam[aws]``) uses boto3, which reads the standard variables
  itself, ``AWS_ENDPOINT_URL`` included, but takes its region from ``AWS_DEFAULT_REGION``.
- Kubeflow Pipelines hands its default pipeline root as ``minio://BUCKET/...``, a scheme no
  client knows; it names the same bucket and keys as ``s3://`` on the MinIO endpoint.

``enable()`` maps the standard variables (``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION``, ``AWS_CA_BUNDLE``) onto what each client reads,
registers ``s3://`` with TensorFlow, and makes the process exit cleanly: with tensorflow-io
0.37.1, every process that touched ``s3://`` aborts at exit ("pure virtual method called",
status 134) after its work succeeded, in the C++ static destructors that run after Python
has finished (tensorflow/io#2039; the fix, tensorflow/io#2120, is in no release for
TensorFlow 2.16). Once Python's own exit is complete (threads joined, ``atexit`` handlers
run, streams flushed), the process ends with its exit status before those destructors run,
however it exits: a returned ``main``, ``sys.exit``, an uncaught exception (traceback
printed, status 1), a finished multiprocessing child, a test session.

Nothing here imports more than the standard library until ``enable`` needs tensorflow-io.
"""

from __future__ import annotations

import atexit
import ctypes
import logging
import os
from typing import Iterable, Mapping, MutableMapping, Optional
from urllib.parse import urlsplit

from robustfx.base.validation import ConfigError

S3_SCHEME = "s3://"
# Kubeflow Pipelines' spelling of its MinIO bucket (the OSS default pipeline root).
MINIO_SCHEME = "minio://"
_enabled = False


class RemoteStorageError(ConfigError):
    """Object-store settings or a path that cannot work, with the fix named."""


def uses_object_store(texts: Iterable[str]) -> bool:
    """True when any text (a path, an argument, a JSON document) names s3:// or minio://."""
    return any(S3_SCHEME in text or MINIO_SCHEME in text for text in texts if text)


def to_s3(uri: str) -> str:
    """``minio://BUCKET/KEY`` as ``s3://BUCKET/KEY`` (the same object on the MinIO endpoint);
    any other URI unchanged."""
    return S3_SCHEME + uri[len(MINIO_SCHEME) :] if uri.startswith(MINIO_SCHEME) else uri


def check_path(path: str, what: str) -> str:
    """Returns ``path`` if this process can open it; refuses ``minio://`` with the fix.

    Only a Kubeflow task's artifact URIs are mapped from ``minio://`` (by the container
    entrypoint, which hands the launcher its own URIs back); a path given by a person is
    opened as written, and no client opens ``minio://``.
    """
    if path.startswith(MINIO_SCHEME):
        raise RemoteStorageError(
            f"{what}={path!r}: {MINIO_SCHEME} is Kubeflow Pipelines' name for its MinIO "
            f"bucket, which TensorFlow and Beam cannot open; give {to_s3(path)!r} and set "
            "AWS_ENDPOINT_URL to the MinIO service (e.g. http://minio-service.kubeflow:9000)"
        )
    return path


def _endpoint(environ: Mapping[str, str]) -> Optional[str]:
    """The S3 endpoint URL that boto3 would use (the S3-only variable wins), validated."""
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"):
        value = environ.get(name, "").strip()
        if not value:
            continue
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RemoteStorageError(
                f"{name}={value!r} is not an endpoint URL: give http://HOST:PORT or "
                "https://HOST:PORT"
            )
        return value.rstrip("/")
    return None


def client_settings(environ: Mapping[str, str]) -> dict:
    """The variables to add so that TensorFlow's and Beam's S3 clients both follow the
    standard ``AWS_*`` ones; those already set are kept.

    Raises:
      RemoteStorageError: the endpoint is not a URL, or ``S3_ENDPOINT`` names another one
        (TensorFlow and Beam would then read and write different stores).
    """
    added = {}
    endpoint = _endpoint(environ)
    if endpoint:
        given = environ.get("S3_ENDPOINT", "").rstrip("/")
        if given and given != endpoint:
            raise RemoteStorageError(
                f"S3_ENDPOINT={given!r} differs from AWS_ENDPOINT_URL={endpoint!r}: TensorFlow "
                "would use one store and Beam the other; unset S3_ENDPOINT"
            )
        if not given:
            added["S3_ENDPOINT"] = endpoint
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    if region:
        for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
            if not environ.get(name):
                added[name] = region
    if environ.get("AWS_CA_BUNDLE") and not environ.get("S3_CA_FILE"):
        added["S3_CA_FILE"] = environ["AWS_CA_BUNDLE"]
    return added


def enable(
    uses: Iterable[str] = (),
    force: bool = False,
    environ: Optional[MutableMapping[str, str]] = None,
) -> bool:
    """Gives this process ``s3://`` (and the variables its clients read) when it needs them.

    Importing tensorflow-io costs about 0.1 s once TensorFlow is loaded, but it loads
    TensorFlow (several seconds), so it happens only for a process whose ``uses`` name an
    object store, or with ``force``. Safe to call many times.

    Args:
      uses: the paths, arguments or documents the process will work on.
      force: enable even though ``uses`` names no object store (e.g. a Beam worker).
      environ: the environment to complete (default: ``os.environ``).

    Returns:
      Whether ``s3://`` is registered with TensorFlow in this process.
    """
    global _enabled
    if _enabled:
        return True
    if not (force or uses_object_store(list(uses))):
        return False
    environ = os.environ if environ is None else environ
    environ.update(client_settings(environ))
    import tensorflow_io  # noqa: F401  (registers s3:// with tf.io.gfile)

    atexit.register(_end_before_native_teardown)
    _enabled = True
    return True


def _end_before_native_teardown() -> None:
    """Runs among Python's ``atexit`` handlers: asks the C library to end the process with
    its exit status (``_exit(status)``) as the first thing ``exit()`` does, i.e. after
    Python's own finalization and before the static destructors that abort.

    Handlers registered with the C library run in reverse order of registration, so one
    registered this late runs before every destructor that the S3 filesystem registered
    while it worked. glibc's ``on_exit`` hands the handler the status; without it (another
    C library) nothing changes.
    """
    libc = ctypes.CDLL(None)
    on_exit = getattr(libc, "on_exit", None)
    if on_exit is None:
        logging.getLogger(__name__).warning(
            "no on_exit in this C library: a process that used s3:// may abort at exit"
        )
        return
    on_exit.argtypes = (ctypes.c_void_p, ctypes.c_void_p)
    on_exit(ctypes.cast(libc._exit, ctypes.c_void_p), None)
