"""The ``robustfx`` command line: flags generated from the configs, and one module per
command that needs more than a call into the layers below."""
