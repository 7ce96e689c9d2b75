"""Fixtures of the curation tests; the files they write are made in curate_fixtures.py."""

import pytest

from tests.data_recipes.curate_fixtures import make_world


@pytest.fixture
def world(tmp_path):
    return make_world(tmp_path)


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    """The world's recipe run once, uninterrupted: (recipe path, output directory)."""
    from redstar.cli import main

    base = tmp_path_factory.mktemp("clean")
    recipe, _ = make_world(base)
    assert main(["curate", str(recipe), "--out", str(base / "out")]) == 0
    return recipe, base / "out"
