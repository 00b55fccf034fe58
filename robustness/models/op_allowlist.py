"""The ops a SavedModel's graphs may run under robustfx, and what the others are.

``ALLOWED_OPS`` is derived from the project's own exports (``trainer/export.py``): every op
that ``serving_default`` (Transform's graph inside: parse, decode, check, optional resize),
``serving_transformed`` and ``conv_activations`` reach, with and without ``--resize``, for
PNG and JPEG data, plus the stateless twin of each call and control-flow op (TensorFlow
names the op after whether the body is stateful; both run the same way).
``tests/robustness/models/test_op_allowlist.py`` exports those models and checks that the
list covers them. It holds pure maths, neural-network, image-decoding, parsing and control
flow only: nothing that touches a file, the network, a Python callback or a log. Anything
else is refused unless the user names it with ``--allow-op``.

``category`` names what a refused op is, for the refusal message.
"""

import re
from typing import Tuple

ALLOWED_OPS = frozenset(
    (
        "AddV2",  # Transform: the map_fn loop counter
        "All",  # Transform: the image-shape and label checks
        "ArgMax",  # the predicted class
        "Assert",  # Transform: the image-shape check (fails the call; writes nothing)
        "BiasAdd",  # conv and dense layers
        "Cast",  # Transform: uint8 pixels to float32
        "Const",
        "Conv2D",  # conv layers
        "DecodeImage",  # Transform: PNG or JPEG bytes to pixels (tf.io.decode_image)
        "Equal",  # Transform: the image-shape check
        "ExpandDims",  # Transform with --resize (tf.image.resize on one image)
        "Fill",  # Transform layer: default values of absent features
        "GreaterEqual",  # Transform: the label check, map_fn's bounds
        "Identity",
        "If",  # Transform: tf.debugging.Assert's guard
        "Less",  # Transform: the map_fn loop condition
        "LogicalAnd",
        "LogicalOr",
        "MatMul",  # dense layers
        "MaxPool",  # pooling layers
        "Maximum",  # Transform: clip to [0, 1], map_fn's bounds
        "Minimum",
        "NoOp",
        "Pack",
        "ParseExampleV2",  # serving_default: serialized tf.Examples in
        "PartitionedCall",  # call of a stateless function (StatefulPartitionedCall's twin)
        "Placeholder",  # signature inputs
        "PlaceholderWithDefault",  # Transform layer
        "ReadVariableOp",  # the model's weights
        "RealDiv",  # Transform: / 255
        "Relu",  # activations
        "Reshape",  # flatten, Transform's reshape
        "ResizeBilinear",  # Transform with --resize
        "Shape",
        "Softmax",  # probabilities
        "Squeeze",  # Transform with --resize
        "StatefulPartitionedCall",  # call of a function (Keras layers, Transform's graph)
        "StatelessIf",  # If's twin
        "StatelessWhile",  # While's twin
        "StridedSlice",
        "TensorListFromTensor",  # Transform: tf.map_fn over the batch of encoded images
        "TensorListGetItem",
        "TensorListReserve",
        "TensorListSetItem",
        "TensorListStack",
        "VarHandleOp",  # handles of the model's weights
        "While",  # Transform: tf.map_fn's loop
    )
)

# What a refused op is, first match wins: (category, pattern on the op name).
_CATEGORIES: Tuple[Tuple[str, "re.Pattern[str]"], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        ("python callback", r"^(PyFunc|PyFuncStateless|EagerPyFunc)$"),
        (
            "save or restore",
            r"^(Save|Restore)|^MergeV2Checkpoints$|^Sharded(Filename|Filespec)$|"
            r"^LoadAndRemapMatrix$|^(Save|Load|DistributedSave)Dataset|^DistributedSave$",
        ),
        (
            "file system",
            r"^(ReadFile|WriteFile|MatchingFiles|ImmutableConst|FileSystemSetConfiguration)$|"
            r"Reader|Writer|FromTextFile|MatchingFilesDataset|"
            r"(TFRecord|TextLine|FixedLengthRecord|CSV|LMDB|Sql)Dataset|DatasetToTFRecord|"
            r"Snapshot|CacheDataset",
        ),
        ("print or log", r"^Print(V2)?$|Summary|^Debug"),
        ("network", r"^(Send|Recv|RemoteCall)$|^Collective|DataService|RegisterDataset|TPU"),
    )
)


def category(op: str) -> str:
    """What the op is: 'file system', 'save or restore', 'python callback', 'print or log',
    'network', or 'unknown op' (any other op, custom ops included); 'allowed' when listed."""
    if op in ALLOWED_OPS:
        return "allowed"
    for name, pattern in _CATEGORIES:
        if pattern.search(op):
            return name
    return "unknown op"
