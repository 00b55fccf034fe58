"""TFDS datasets: reading their metadata, writing the offline default, checking records."""
