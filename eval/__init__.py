"""Benchmarks: loaders for the real formats, prompts, scoring, metrics and reports."""
