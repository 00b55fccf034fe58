"""Model code that TFX loads by dotted path: Transform's preprocessing and Trainer's run_fn."""
