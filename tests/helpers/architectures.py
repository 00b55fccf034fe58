"""Ordinary architectures as other teams build them, untrained and at small input sizes: the
Keras applications (``weights=None``, nothing downloaded), a small Vision Transformer block,
and a CNN that resizes and pads inside the model."""

import os

SMALLEST_SIDE = 32  # the smallest input MobileNetV2, ResNet50 and EfficientNetB0 accept
APPLICATIONS = ("MobileNetV2", "ResNet50", "EfficientNetB0")


def build_application(name: str, channels: int = 1, classes: int = 10):
    """``tf.keras.applications.<name>`` at its smallest input, softmax head, random weights."""
    import tensorflow as tf

    build = getattr(tf.keras.applications, name)
    return build(
        input_shape=(SMALLEST_SIDE, SMALLEST_SIDE, channels), weights=None, classes=classes
    )


def build_vit_block(image_shape=(28, 28, 1), classes: int = 10):
    """Patches, a learned position embedding, one pre-norm Transformer block
    (LayerNormalization, MultiHeadAttention, a GELU MLP, residual adds) and a logits head."""
    import tensorflow as tf

    layers, patch, width = tf.keras.layers, 7, 16
    tokens = (image_shape[0] // patch) * (image_shape[1] // patch)
    inputs = tf.keras.Input(image_shape)
    x = layers.Conv2D(width, patch, strides=patch)(inputs)
    x = layers.Reshape((tokens, width))(x)
    x = x + layers.Embedding(tokens, width)(tf.range(tokens))
    attended = layers.MultiHeadAttention(num_heads=2, key_dim=8)(
        layers.LayerNormalization()(x), layers.LayerNormalization()(x)
    )
    x = layers.Add()([x, attended])
    hidden = layers.Dense(2 * width, activation="gelu")(layers.LayerNormalization()(x))
    x = layers.Add()([x, layers.Dense(width)(hidden)])
    outputs = layers.Dense(classes)(layers.GlobalAveragePooling1D()(x))
    return tf.keras.Model(inputs, outputs)


def build_resize_and_pad_cnn(image_shape=(28, 28, 1), classes: int = 10):
    """Resizes to 32x32 (bilinear), pads by reflection and with zeros, then convolves."""
    import tensorflow as tf

    layers = tf.keras.layers
    inputs = tf.keras.Input(image_shape)
    reflect = [[0, 0], [2, 2], [2, 2], [0, 0]]
    x = layers.Lambda(lambda images: tf.image.resize(images, [32, 32]))(inputs)
    x = layers.Lambda(lambda images: tf.pad(images, reflect, "REFLECT"))(x)
    x = layers.ZeroPadding2D(1)(x)
    x = layers.Conv2D(8, 3, activation="relu")(x)
    x = layers.AveragePooling2D()(x)
    x = layers.Concatenate()([x, layers.Conv2D(8, 3, padding="same")(x)])
    outputs = layers.Dense(classes)(layers.GlobalAveragePooling2D()(x))
    return tf.keras.Model(inputs, outputs)


def save_inference_signature(model, directory) -> str:
    """Saves what a serving signature of ``model`` runs, as ``model.save`` names it
    (``serving_default``, the input layer's name in, the output layer's name out), without
    the per-layer traces ``model.save`` adds for Keras (they are never called, and saving
    them takes a minute for ResNet50). Returns the SavedModel directory."""
    import tensorflow as tf

    spec = tf.TensorSpec([None, *model.input_shape[1:]], tf.float32, name=model.input_names[0])

    @tf.function(input_signature=[spec], autograph=False)
    def serve(images):
        return {model.output_names[0]: model(images, training=False)}

    module = tf.Module()
    module.weights = list(model.variables)
    tf.saved_model.save(module, str(directory), signatures={"serving_default": serve})
    return os.fspath(directory)
