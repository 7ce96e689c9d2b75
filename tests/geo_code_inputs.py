"""One GeoQA problem (G-LLaVA layout, one image) and one TACO problem (stdin tests) with a
replay teacher's right and wrong reply to each, and the curation recipe over them: the input
of the curation test and of the curation-to-OpenRLHF test."""

import json
from pathlib import Path

CODE_RIGHT = "```python\na, b = map(int, input().split())\nprint(a + b)\n```"
CODE_WRONG = "```python\na, b = map(int, input().split())\nprint(a * b)\n```"
GEO_RIGHT = "Angles 1 and 2 are supplementary, 180 - 50 = 130. \\boxed{C}"
GEO_WRONG = "They are equal. \\boxed{B}"
RECIPE = """# schema: data_recipes.recipe:Recipe
name: geo_code
sources:
  - {path: test_questions.jsonl, preset: geoqa, name: geoqa}
  - {path: taco.jsonl, preset: taco, name: taco}
decontam: {enabled: false}
sampling: {teachers: [{name: t, backend: {backend: replay, path: resp.jsonl}, n: 2}]}
run: {progress: false}
"""


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def write_geo_code_inputs(root: Path, missing_image: bool = False) -> Path:
    """Write the sources, the replies and the recipe under ``root``; return the recipe. With
    ``missing_image`` a second GeoQA question names an image that does not exist."""
    from PIL import Image

    (root / "test").mkdir()
    Image.new("RGB", (16, 16), "white").save(root / "test" / "0.png")
    text = "Question: In the figure, angle 1 = 50°, find angle 2.\nChoices:\nA:40°\nB:50°\nC:130°\nD:140°"
    ids = [0, 1] if missing_image else [0]
    _jsonl(root / "test_questions.jsonl", [{"question_id": i, "image": f"test/{9 * i}.png", "text": text} for i in ids])
    _jsonl(root / "test_answers.jsonl", [{"question_id": i, "text": "C"} for i in ids])
    io = json.dumps({"inputs": ["1 2\n", "5 7\n"], "outputs": ["3\n", "12\n"]})
    taco = {
        "question": "Read two integers and print their sum.",
        "solutions": "[]",
        "starter_code": "",
        "input_output": io,
        "difficulty": "EASY",
        "source": "atcoder",
    }
    _jsonl(root / "taco.jsonl", [taco])
    replies = [
        {"id": "geoqa:0", "responses": [GEO_RIGHT, GEO_WRONG]},
        {"id": "taco:0", "responses": [CODE_RIGHT, CODE_WRONG]},
    ]
    _jsonl(root / "resp.jsonl", replies)
    recipe = root / "recipe.yaml"
    recipe.write_text(RECIPE)
    return recipe
