"""Custom TFX components: the RobustnessEvaluator (spec, component, executor) and the atomic
Pusher executor. Glue only: they unpack artifacts and call the robustness library."""
