"""More of what an attacker sends, beside ``models.untrusted_payloads``: a Python callback, a
print to a file, a ``tf.data`` reader, and a custom kernel hidden in a loop inside a branch
(forged by renaming an op in ``saved_model.pb``, as a custom op library would name its own)."""

import os

from tests.helpers.models import save_untrusted_model

FORGED_OP = "RobustfxForgedKernel"  # no op TensorFlow's registry knows


def hostile_payloads(target: str) -> dict:
    """Payloads aimed at files under ``target``, keyed by the op the graph check must refuse:
    EagerPyFunc writes ``target/written_by_python`` from Python, PrintV2 appends the images
    to ``target/printed``, TextLineDataset reads ``target/secret`` line by line."""
    import tensorflow as tf

    def from_python(image):
        def write(values):
            with open(os.path.join(target, "written_by_python"), "w") as f:
                f.write(str(values.shape))
            return values

        return tf.py_function(write, [image], tf.float32)

    def read_lines(image):
        lines = tf.data.TextLineDataset(os.path.join(target, "secret"))
        return lines.reduce(tf.constant(0, tf.int64), lambda count, _: count + 1)

    return {
        "EagerPyFunc": from_python,
        "PrintV2": lambda image: tf.print(
            "leak", image, output_stream="file://" + os.path.join(target, "printed")
        ),
        "TextLineDataset": read_lines,
    }


def _cumsum_in_a_loop_in_a_branch(image):
    """``tf.math.cumsum`` (the op the forgery renames) in a while body inside a cond."""
    import tensorflow as tf

    def loop(values):
        body = lambda step, v: (step + 1, tf.math.cumsum(v))  # noqa: E731
        return tf.while_loop(lambda step, _: step < 1, body, [tf.constant(0), values])[1]

    flat = tf.reshape(image, [-1])
    return tf.cond(tf.size(flat) > 0, lambda: loop(flat), lambda: flat)


def rewrite_saved_model(model_dir: str, change) -> str:
    """Applies ``change`` to the SavedModel's MetaGraph in ``saved_model.pb``; returns the dir."""
    from robustfx.robustness.models.saved_models import read_saved_model

    saved = read_saved_model(model_dir)
    change(saved.meta_graphs[0])
    with open(os.path.join(model_dir, "saved_model.pb"), "wb") as f:
        f.write(saved.SerializeToString())
    return model_dir


def save_forged_kernel_model(directory) -> str:
    """A model whose signature runs ``FORGED_OP`` inside a ``tf.while_loop`` body inside a
    ``tf.cond`` branch."""

    def forge(meta_graph):
        for function in meta_graph.graph_def.library.function:
            for node in function.node_def:
                if node.op == "Cumsum":
                    node.op = FORGED_OP

    model_dir = save_untrusted_model(directory, _cumsum_in_a_loop_in_a_branch)
    return rewrite_saved_model(model_dir, forge)
