"""What an op in a candidate's graph may do, decided by what the op is, not by who uses it.

TensorFlow's op registry marks each op stateful or not (``OpDef.is_stateful``). A stateless op
computes its outputs from its inputs and attrs alone: pure maths, neural-network layers,
image ops, control flow. Those are allowed, except the few stateless ops that still reach
outside the call (``ReadFile``, ``MatchingFiles``, ``PyFuncStateless``, the debug and summary
ops, the ``tf.data`` ops), which are refused by name.

A stateful op is refused unless inference needs it (``INFERENCE_OPS``, each with its reason).
An op the registry does not know is a custom kernel whose effects nobody can read from the
graph, and is refused too. ``category`` names what a refused op is, for the refusal message:
``--allow-op`` lets a named op through for a user who knows better.
"""

import functools
import re
from typing import Dict, Optional, Tuple

ALLOWED = "allowed"
PYTHON = "Python callback"
FILE_IO = "file I/O"
NETWORK = "network"
PRINT = "printing or logging"
SUMMARY = "summary writer"
DATASET = "dataset reader"
STATE = "random-seed or global state"
UNKNOWN = "unknown op, a custom kernel"

# The stateful ops a model needs to run inference, and why each is safe to run.
INFERENCE_OPS: Dict[str, str] = {
    "VarHandleOp": "the handle of one of the model's weights, made once when it loads",
    "ReadVariableOp": "reads one of the model's weights (the loader restored it)",
    "StatefulPartitionedCall": "calls a function of the model's own library; the body is "
    "checked op by op",
    "If": "a conditional whose branch holds a stateful op; both branches are checked",
    "While": "a loop whose body holds a stateful op; condition and body are checked",
    "Case": "a switch whose branch holds a stateful op; every branch is checked",
    "Assert": "fails the call when its condition is false; the message goes into the error, "
    "nothing is written",
}

# Refused whatever the registry says, first match wins: (category, pattern on the op name).
# Some of these are stateless (ReadFile, MatchingFiles, PyFuncStateless, ImmutableConst,
# the Debug*, *Summary and *Dataset ops), so statefulness alone would let them through.
_REFUSED: Tuple[Tuple[str, "re.Pattern[str]"], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        (PYTHON, r"PyFunc"),
        (PRINT, r"^Print|^Debug|^Copy(Host)?$|^DumpTensor$"),
        (SUMMARY, r"Summary|^ImportEvent$|StatsAggregator"),
        (
            FILE_IO,
            r"^(ReadFile|WriteFile|MatchingFiles|ImmutableConst|FileSystemSetConfiguration|"
            r"GenerateVocabRemapping|Skipgram|LoadAndRemapMatrix|MergeV2Checkpoints|"
            r"DecodeProtoV2|EncodeProto)$|^(Save|Restore)|RestoreV2$|FromTextFile|"
            r"DatasetToTFRecord|^(Save|Load|DistributedSave)Dataset|^DistributedSave$",
        ),
        (
            NETWORK,
            r"Send|Recv|^RemoteCall$|^Rpc|Collective|Nccl|DataService|RegisterDataset|TPU|"
            r"Infeed|Outfeed|HostCompute|AllToAll|CrossReplicaSum|WorkerHeartbeat|^XlaCallModule$",
        ),
        (DATASET, r"Dataset|Iterator|Reader|Queue|^RecordInput$"),
    )
)


def _op_def(op: str):
    from tensorflow.python.framework import op_def_registry

    return op_def_registry.get(op)


def is_stateful(op: str) -> Optional[bool]:
    """What TensorFlow's registry says of ``op``; None when it does not know the op."""
    op_def = _op_def(op)
    return None if op_def is None else op_def.is_stateful


@functools.cache
def category(op: str) -> str:
    """``ALLOWED``, or what the op is and why it is refused: ``PYTHON``, ``FILE_IO``,
    ``NETWORK``, ``PRINT``, ``SUMMARY``, ``DATASET``, ``STATE`` (any other stateful op) or
    ``UNKNOWN``."""
    if op in INFERENCE_OPS:
        return ALLOWED
    stateful = is_stateful(op)
    if stateful is None:
        return UNKNOWN
    for name, pattern in _REFUSED:
        if pattern.search(op):
            return name
    return STATE if stateful else ALLOWED


def is_allowed(op: str) -> bool:
    return category(op) == ALLOWED
