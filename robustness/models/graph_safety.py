"""A SavedModel is a program: check what its graphs may do before any of them runs.

``check_graph`` reads ``saved_model.pb`` as a protocol buffer (nothing is loaded or run) and
walks every graph the evaluation could run, through every function they call, at any depth:

- each signature, both as TensorFlow 2's loader calls it (the object graph's signature
  functions, what ``tf.saved_model.load(...).signatures[name]`` runs) and as a model server
  runs it (the main graph, backwards from the SignatureDef's outputs);
- what ``tf.saved_model.load`` itself runs: the init op, each resource's create, initialize
  and destroy functions (hash tables of a Transform graph), each object's restore function.

A function is reached through a call op that names it, any ``func`` or ``list(func)`` attr
(``f``, ``then_branch``, ``else_branch``, ``cond``, ``body``, ``branches``, ...), its
registered gradient and a custom gradient (they run when the attacks differentiate). A name
that no library function has is a primitive op and is checked as one. Every op reached must
be one ``op_policy`` allows (what the op can do) or the user allowed (``--allow-op``).

Not walked, because nothing runs them: the saver's save and restore functions (the loader
restores variables with its own ops) and object methods the evaluation never calls (Keras's
``__call__`` traces). A TensorFlow 1 SavedModel (several MetaGraphs or no object graph) is
refused whole: its loader runs the file's own saver graph.
"""

import dataclasses
import logging
import time
from typing import Dict, Iterator, List, Sequence, Tuple

from robustfx.robustness.models import op_policy
from robustfx.robustness.models.saved_model_pb import ModelSignatureError, read_saved_model

MAIN_GRAPH = "the main graph"
_INIT_OP_SIGNATURE = "__saved_model_init_op"
_INIT_COLLECTIONS = ("saved_model_main_op", "legacy_init_op", "table_initializer")
_LOAD_TIME_CHILDREN = ("_create_resource", "_initialize", "_destroy_resource")
_SHOWN = 5  # findings named in one refusal


@dataclasses.dataclass(frozen=True)
class Site:
    """One op an entry point can run: where it is and how it is reached."""

    op: str
    function: str  # the library function that holds it, or MAIN_GRAPH
    entry: str  # what reaches it: "signature 'serving_default'", "loading (...)"
    path: Tuple[str, ...]  # the functions from the entry point to ``function``

    @property
    def category(self) -> str:
        return op_policy.category(self.op)

    def describe(self) -> str:
        return (
            f"op '{self.op}' ({self.category}) in function '{self.function}', reached from "
            f"{self.entry} ({' -> '.join(self.path)})"
        )


class UnsafeModelError(ModelSignatureError):
    """The SavedModel holds ops the graph check refuses; nothing of it was run."""

    def __init__(self, message: str, findings: Sequence[Site] = ()):
        super().__init__(message)
        self.findings = tuple(findings)

    def __reduce__(self):  # crosses process boundaries (the gate's watched child) intact
        return type(self), (str(self), self.findings)


@dataclasses.dataclass(frozen=True)
class GraphReport:
    """What the check read, for the log, the summary JSON and the model card."""

    model_dir: str
    entries: Tuple[str, ...]  # signatures and load-time entry points walked
    functions: int  # library functions holding the ops reached
    ops: Tuple[str, ...]  # distinct op types reached
    stateful: Tuple[str, ...]  # stateful ops reached that inference needs (op_policy)
    allowed_by_flag: Tuple[str, ...]  # ops let through by --allow-op only
    seconds: float

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _tensor_names(info) -> Iterator[str]:
    """Tensor names of a SignatureDef's TensorInfo (dense, sparse or composite)."""
    encoding = info.WhichOneof("encoding")
    if encoding == "name":
        yield info.name
    elif encoding == "coo_sparse":
        sparse = info.coo_sparse
        yield from (sparse.values_tensor_name, sparse.indices_tensor_name)
        yield sparse.dense_shape_tensor_name
    elif encoding == "composite_tensor":
        for component in info.composite_tensor.components:
            yield from _tensor_names(component)


def _node_name(reference: str) -> str:
    """'^node', 'node:1' -> 'node'."""
    return reference.lstrip("^").split(":")[0]


def _attr_functions(value) -> Iterator[str]:
    """Function names in one AttrValue (``func``, ``list(func)``, nested in their attrs)."""
    kind = value.WhichOneof("value")
    functions = [value.func] if kind == "func" else list(value.list.func) if kind == "list" else []
    for function in functions:
        if function.name:  # an unset optional func attr names nothing
            yield function.name
        for nested in function.attr.values():
            yield from _attr_functions(nested)


class _Graph:
    """One MetaGraph's main graph and function library, indexed for the walk."""

    def __init__(self, meta_graph):
        graph_def = meta_graph.graph_def
        self.nodes = {node.name: node for node in graph_def.node}
        self.functions = {f.signature.name: f for f in graph_def.library.function}
        self.gradients = {g.function_name: g.gradient_func for g in graph_def.library.gradient}
        self.custom_gradients = {
            g.registered_op_type: g.gradient_func for g in graph_def.library.registered_gradients
        }

    def callees(self, node) -> List[str]:
        names = [node.op] if node.op in self.functions else []
        for value in node.attr.values():
            names += _attr_functions(value)
        if "_gradient_op_type" in node.attr:
            op_type = node.attr["_gradient_op_type"].s.decode(errors="replace")
            if op_type in self.custom_gradients:
                names.append(self.custom_gradients[op_type])
        return names

    def main_nodes(self, tensor_names: Sequence[str]) -> List:
        """Main-graph nodes the tensors depend on (data and control inputs)."""
        stack, seen, found = [_node_name(name) for name in tensor_names], set(), []
        while stack:
            name = stack.pop()
            if name in seen or name not in self.nodes:
                continue
            seen.add(name)
            found.append(self.nodes[name])
            stack += [_node_name(reference) for reference in self.nodes[name].input]
        return found

    def walk(self, entry: str, tensor_names: Sequence[str], functions: Sequence[str]):
        """Every op the entry point can run, as Sites, and the functions it reaches."""
        stack = [(name, (name,)) for name in functions]
        for node in self.main_nodes(tensor_names):
            if node.op not in self.functions:
                yield Site(node.op, MAIN_GRAPH, entry, (MAIN_GRAPH,))
            stack += [(name, (MAIN_GRAPH, name)) for name in self.callees(node)]
        seen = set()
        while stack:
            name, path = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            function = self.functions.get(name)
            if function is None:  # not a library function: the runtime runs it as an op
                caller = path[-2] if len(path) > 1 else MAIN_GRAPH
                yield Site(name, caller, entry, path[:-1] or (MAIN_GRAPH,))
                continue
            if name in self.gradients:
                stack.append((self.gradients[name], path + (self.gradients[name],)))
            for node in function.node_def:
                if node.op not in self.functions:
                    yield Site(node.op, name, entry, path)
                stack += [(callee, path + (callee,)) for callee in self.callees(node)]


def _object_functions(object_graph, node_id: int) -> List[str]:
    """Concrete function names of an object-graph node (a function or a bare one)."""
    node = object_graph.nodes[node_id]
    kind = node.WhichOneof("kind")
    if kind == "function":
        return list(node.function.concrete_functions)
    if kind == "bare_concrete_function":
        return [node.bare_concrete_function.concrete_function_name]
    return []


def _entry_points(meta_graph) -> Iterator[Tuple[str, List[str], List[str]]]:
    """(label, main-graph tensor names, library function names) of everything that runs
    when the model is loaded or one of its signatures is called."""
    for name, signature in sorted(meta_graph.signature_def.items()):
        tensors = [t for info in signature.outputs.values() for t in _tensor_names(info)]
        label = "loading (the init op)" if name == _INIT_OP_SIGNATURE else f"signature '{name}'"
        yield label, tensors, []
    for key in _INIT_COLLECTIONS:
        if key in meta_graph.collection_def:
            nodes = list(meta_graph.collection_def[key].node_list.value)
            yield f"loading (the {key} collection)", nodes, []
    objects = meta_graph.object_graph_def
    root = objects.nodes[0] if objects.nodes else None
    for child in root.children if root is not None else ():
        if child.local_name == "signatures":
            for signature in objects.nodes[child.node_id].children:
                functions = _object_functions(objects, signature.node_id)
                yield f"signature '{signature.local_name}'", [], functions
    for node_id, node in enumerate(objects.nodes):
        for child in node.children:
            if node.WhichOneof("kind") == "resource" and child.local_name in _LOAD_TIME_CHILDREN:
                functions = _object_functions(objects, child.node_id)
                yield f"loading (resource {node_id} {child.local_name})", [], functions
        for saveable in node.saveable_objects.values():
            functions = _object_functions(objects, saveable.restore_function)
            yield f"loading (object {node_id} restore function)", [], functions


def reachable_sites(saved_model) -> Dict[str, List[Site]]:
    """Every op each entry point of a parsed SavedModel can run, keyed by entry label."""
    sites: Dict[str, List[Site]] = {}
    for meta_graph in saved_model.meta_graphs:
        graph = _Graph(meta_graph)
        for label, tensors, functions in _entry_points(meta_graph):
            sites.setdefault(label, []).extend(graph.walk(label, tensors, functions))
    return sites


def _refuse_tf1(model_dir: str, saved_model) -> None:
    graphs = saved_model.meta_graphs
    if not graphs:
        raise ModelSignatureError(f"{model_dir}/saved_model.pb holds no MetaGraph")
    if len(graphs) != 1 or not graphs[0].HasField("object_graph_def"):
        raise UnsafeModelError(
            f"model {model_dir} is refused before anything runs: it is a TensorFlow 1 "
            f"SavedModel ({len(graphs)} MetaGraph(s), no object graph), whose loading runs "
            "the file's own saver graph; re-export it with tf.saved_model.save or "
            "robustfx.trainer.export"
        )


def _refusal(model_dir: str, findings: List[Site]) -> UnsafeModelError:
    unique = sorted({(f.op, f.function, f.entry): f for f in findings}.values(), key=str)
    shown = "; ".join(finding.describe() for finding in unique[:_SHOWN])
    more = f" (and {len(unique) - _SHOWN} more)" if len(unique) > _SHOWN else ""
    ops = " ".join(f"--allow-op {op}" for op in sorted({f.op for f in unique}))
    return UnsafeModelError(
        f"model {model_dir} is refused before anything runs: {shown}{more}. A model may run "
        "stateless ops and the stateful ops inference needs, nothing that touches files, the "
        f"network, Python, logs or global state; if you know why it needs these, pass {ops}",
        unique,
    )


def check_graph(model_dir: str, allowed_ops: Sequence[str] = ()) -> GraphReport:
    """Refuses a SavedModel whose graphs can run an op ``op_policy`` refuses.

    Args:
      model_dir: the SavedModel directory (local or remote: read through ``tf.io.gfile``).
      allowed_ops: op names let through whatever ``op_policy`` says (``--allow-op``).

    Returns:
      What was checked, for the record.

    Raises:
      UnsafeModelError: naming each refused op, the function holding it and its entry point.
      ModelSignatureError: no ``saved_model.pb`` there, or it does not parse.
    """
    start = time.perf_counter()
    saved_model = read_saved_model(model_dir)
    _refuse_tf1(model_dir, saved_model)
    try:
        sites = [site for found in reachable_sites(saved_model).values() for site in found]
    except IndexError:  # an object-graph reference past its nodes: the loader would crash
        raise ModelSignatureError(f"{model_dir}/saved_model.pb is malformed") from None
    extra = frozenset(allowed_ops)
    findings = [s for s in sites if not op_policy.is_allowed(s.op) and s.op not in extra]
    if findings:
        raise _refusal(model_dir, findings)
    ops = sorted({site.op for site in sites})
    report = GraphReport(
        model_dir=model_dir,
        entries=tuple(sorted({site.entry for site in sites})),
        functions=len({site.function for site in sites} - {MAIN_GRAPH}),
        ops=tuple(ops),
        stateful=tuple(op for op in ops if op in op_policy.INFERENCE_OPS),
        allowed_by_flag=tuple(op for op in ops if not op_policy.is_allowed(op)),
        seconds=round(time.perf_counter() - start, 4),
    )
    if report.allowed_by_flag:
        logging.warning(
            "GRAPH CHECK of %s: %s let through by --allow-op only",
            model_dir,
            ", ".join(f"{op} ({op_policy.category(op)})" for op in report.allowed_by_flag),
        )
    logging.info(
        "graph check of %s passed in %.3f s: %d op types in %d functions, from %s",
        model_dir,
        report.seconds,
        len(ops),
        report.functions,
        ", ".join(report.entries),
    )
    return report
