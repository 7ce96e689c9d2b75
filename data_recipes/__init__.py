"""The curation pipeline: sources, stages, recipes and exports."""
