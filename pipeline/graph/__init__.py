"""The TFX graph that every runner executes, the local runner, its run lock, and readers of
what runs recorded in ML Metadata."""
