"""The pipeline graph, its typed configuration, the local runner and the command line."""
