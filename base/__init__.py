"""The base layer: typed, validated configs, presets and shared keys. Imports nothing else of
the project, and nothing heavier than the standard library, so every command can check its
arguments before TensorFlow, TFX or Beam load."""
