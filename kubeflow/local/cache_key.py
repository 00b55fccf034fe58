"""KFP's cache key of a container task, as open-source KFP computes it, so that
``kfp run-local`` caches exactly what a cluster would.

From KFP's backend (``backend/src/v2/cacheutils/cache.go``, ``GenerateCacheKey`` and
``GenerateFingerPrint``): the names of the input artifacts (their ML Metadata resource names,
not their contents), the input parameter values, the output artifacts' names, types and
metadata (URIs wiped), the output parameters' types, and the container's image and raw
command line; SHA-256 of that as JSON. Nothing in it looks at the data a task reads, which is
why a cached ImportExampleGen goes on answering with the first night's data: compiled specs
turn caching off for it (``compile.NEVER_CACHED``).
"""

import hashlib
import json
from typing import Any, Mapping


def cache_key(
    executor_input: Mapping[str, Any],
    container: Mapping[str, Any],
    output_parameter_types: Mapping[str, str],
) -> dict:
    """The CacheKey message as JSON (protojson names)."""
    inputs, outputs = executor_input.get("inputs") or {}, executor_input.get("outputs") or {}
    output_artifacts = {}
    for name, listed in (outputs.get("artifacts") or {}).items():
        if listed.get("artifacts"):
            first = listed["artifacts"][0]
            output_artifacts[name] = {
                key: first[key] for key in ("name", "type", "metadata") if first.get(key)
            }
    return {
        "inputArtifactNames": {
            name: {"artifactNames": [a.get("name", "") for a in listed.get("artifacts") or []]}
            for name, listed in (inputs.get("artifacts") or {}).items()
        },
        "inputParameterValues": dict(inputs.get("parameterValues") or {}),
        "outputArtifactsSpec": output_artifacts,
        "outputParametersSpec": {
            name: output_parameter_types[name] for name in outputs.get("parameters") or {}
        },
        "containerSpec": {
            "image": container.get("image", ""),
            "cmdArgs": list(container.get("command") or []) + list(container.get("args") or []),
        },
    }


def fingerprint(key: Mapping[str, Any]) -> str:
    """SHA-256 of the key's JSON, as ``GenerateFingerPrint`` hashes it."""
    text = json.dumps(key, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
