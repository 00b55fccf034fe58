"""SavedModels as the robustness library sees them: their signatures, shapes and identity."""
