"""Feature keys and signature names shared by Transform, Trainer, the evaluators and the tests."""

IMAGE_KEY = "image"
LABEL_KEY = "label"

# Outputs of the exported signatures.
LOGITS_KEY = "logits"
PROBABILITIES_KEY = "probabilities"
CLASSES_KEY = "classes"

# Signature on serialized raw tf.Examples (encoded image bytes); the Transform graph is inside.
SERVING_SIGNATURE = "serving_default"
# Signature on transformed float images in [0, 1]; what white-box attacks differentiate through.
TRANSFORMED_SIGNATURE = "serving_transformed"
# Signature on transformed images returning each conv layer's activations, for reports.
ACTIVATIONS_SIGNATURE = "conv_activations"
# The single input of the serving signature.
SERVING_INPUT_KEY = "examples"
