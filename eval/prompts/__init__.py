"""Prompt templates for ``redstar eval`` (``*.txt``); a package so wheels ship the files."""
