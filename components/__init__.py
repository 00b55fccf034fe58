"""Custom TFX components of robustfx and the pure libraries they call."""
