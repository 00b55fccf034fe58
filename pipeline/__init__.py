"""Orchestration: the TFX graph and its runners (``graph``), dataset preparation and checks
(``data``) and the ``robustfx`` command line (``cli``)."""
