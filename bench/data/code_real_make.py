"""Build the rows of bench/data/code_real.jsonl (unlabelled) from published LiveCodeBench outputs.

Provenance. The programs are O1-Mini and O1-Preview's published LiveCodeBench code-generation
outputs (``LiveCodeBench/submissions``, files ``O1-Mini-2024-09-12 (N=1)/...eval_all.json`` and
``O1-Preview-2024-09-12 (N=1)/...eval_all.json``), one program per problem, with LiveCodeBench's
own verdict on its full hidden tests (``lcb_verdict``). The tests of a row are the problem's
published examples, parsed from the statement (AtCoder ``Sample Input k`` / ``Sample Output k``;
LeetCode ``Input: a = ..., b = ...`` / ``Output: ...`` as a call of the starter code's method),
plus, when LiveCodeBench recorded the hidden test a rejected program failed on (its metadata's
``inputs`` / ``expected``, untruncated), that test. Rows keep where they came from: ``repo``,
``path``, ``commit``, ``question_id``, ``model``.

Rows are chosen to cover what contest programs do (``idioms``): worker threads
(``threading.Thread(target=main).start()``), ``exit()`` / ``sys.exit``, LeetCode starter code
that uses ``List[...]`` without importing ``typing``, ``sys.stdout.write``, plus a seeded sample of
the rest, accepted and rejected.

A second group of rows comes from TACO's published generation example (``FlagOpen/TACO``,
``taco_generation_example.json``: one program for each of 1,000 TACO test problems, verdict not
published), with the statement's ``Input`` / ``Output`` examples as tests; it adds the idioms the
LiveCodeBench outputs lack: the PyRival FastIO template, ``os.read(0, os.fstat(0).st_size)``,
``atexit``. The label is not written here: ``code_real_label.py`` runs
TACO's own harness on each row.

    python bench/data/code_real_make.py SUBMISSIONS_GIT_DIR [TACO_GIT_DIR] > rows.jsonl
    python bench/data/code_real_make.py SUBMISSIONS_GIT_DIR TACO_GIT_DIR --heldout > heldout.jsonl

``--heldout`` draws 150 LiveCodeBench and 100 TACO rows that the main set does not hold (seed 1),
at random rather than by idiom: a set scored once, after the runner was fixed on the main set.
"""

from __future__ import annotations

import ast
import json
import random
import re
import subprocess
import sys

REPO = "LiveCodeBench/submissions"
FILES = {
    "O1-Mini": "O1-Mini-2024-09-12 (N=1)/Scenario.codegeneration_1_0.2_eval_all.json",
    "O1-Preview": "O1-Preview-2024-09-12 (N=1)/Scenario.codegeneration_1_0.2_eval_all.json",
}
TACO_REPO = "FlagOpen/TACO"
TACO_FILE = "taco_generation_example.json"
MAX_INPUT = 200_000

IDIOMS = {
    "threads": r"threading\.Thread|Thread\(",
    "exit": r"(?<![\w.])(?:exit|quit)\(",
    "sys_exit": r"sys\.exit\(",
    "stdout_write": r"sys\.stdout\.write",
    "fastio": r"class FastIO|IOBase",
    "os_read": r"os\.read\(0",
    "atexit": r"atexit",
    "recursionlimit": r"setrecursionlimit",
}


def idioms(code: str, platform: str) -> list[str]:
    found = [name for name, pat in IDIOMS.items() if re.search(pat, code)]
    typing_names = re.search(r"\b(?:List|Optional|Dict|Tuple|Set)\[", code)
    if platform == "leetcode" and typing_names and not re.search(r"from typing import|import typing", code):
        found.append("typing_not_imported")
    return found


def atcoder_samples(text: str) -> list[tuple[str, str]]:
    text = text.replace("\r\n", "\n")  # some scraped statements keep CRLF; judges give LF
    out = []
    for m in re.finditer(r"Sample Input (\d+)\n\n(.*?)\n\nSample Output \1\n\n(.*?)(?:\n\n|\Z)", text, re.S):
        out.append((m.group(2).strip("\n") + "\n", m.group(3).strip("\n") + "\n"))
    return out


def _value(text: str):
    text = text.strip()
    try:
        return json.loads(text)
    except ValueError:
        return ast.literal_eval(text)


def leetcode_samples(text: str) -> list[tuple[list, object]]:
    text = text.replace("\r\n", "\n")
    out = []
    for m in re.finditer(r"Input: (.*?)\nOutput: (.*?)\n", text + "\n"):
        args_text, want_text = m.group(1), m.group(2)
        names = list(re.finditer(r"(?:^|, )([A-Za-z_]\w*) = ", args_text))
        if not names:
            return []
        args = []
        try:
            for i, n in enumerate(names):
                end = names[i + 1].start() if i + 1 < len(names) else len(args_text)
                args.append(_value(args_text[n.end() : end]))
            want = _value(want_text)
        except (ValueError, SyntaxError):
            return []
        out.append((args, want))
    return out


def taco_samples(prompt: str) -> list[tuple[str, str]]:
    """The ``Input`` / ``Output`` example blocks of a TACO (Codeforces-style) statement."""
    at = max(prompt.find("-----Example"), prompt.find("\nExample"))
    if at < 0:
        return []
    blocks, kind, cur = [], None, []
    for line in prompt[at:].split("\n")[1:]:
        head = line.strip()
        if head in ("Input", "Output") or head.startswith(("Note", "-----", "Use Standard Input", "ANSWER:")):
            if kind:
                blocks.append((kind, "\n".join(cur).strip("\n") + "\n"))
            kind, cur = (head if head in ("Input", "Output") else None), []
            if kind is None and not head.startswith("-----Example"):
                break
            continue
        if kind:
            cur.append(line)
    pairs = []
    for (k1, b1), (k2, b2) in zip(blocks, blocks[1:]):
        if k1 == "Input" and k2 == "Output" and b1.strip() and b2.strip():
            pairs.append((b1, b2))
    return pairs


def taco_rows(git_dir: str, rng: random.Random) -> tuple[list[dict], list[dict]]:
    """(the rows chosen for the main set, every usable row)."""
    commit = subprocess.run(["git", "-C", git_dir, "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    commit = commit.stdout.strip()
    blob = subprocess.run(["git", "-C", git_dir, "show", f"{commit}:{TACO_FILE}"], capture_output=True, check=True)
    rows = []
    for task in json.loads(blob.stdout):
        if "Use Standard Input format" not in task["prompt"] or not task["output"]:
            continue
        pairs = taco_samples(task["prompt"])
        code = task["output"][0]
        if not pairs or not code.strip():
            continue
        rows.append(
            {
                "id": f"taco-example-{task['task_id']}",
                "source": "taco",
                "repo": TACO_REPO,
                "path": TACO_FILE,
                "commit": commit,
                "model": "TACO generation example",
                "platform": "codeforces-style",
                "question_id": str(task["task_id"]),
                "idioms": idioms(code, "stdin"),
                "code": code,
                "tests": {"inputs": [i for i, _ in pairs], "outputs": [o for _, o in pairs]},
            }
        )
    picked = []
    for name in ("fastio", "os_read", "atexit", "threads", "exit", "sys_exit", "stdout_write"):
        group = [r for r in rows if name in r["idioms"] and r not in picked]
        rng.shuffle(group)
        picked += group[:20]
    rest = [r for r in rows if r not in picked]
    rng.shuffle(rest)
    return picked + rest[:25], rows


def tests_for(row: dict, meta: dict) -> dict | None:
    if row["platform"] == "leetcode":
        m = re.search(r"def (\w+)\(self", row["starter_code"])
        if not m or "class Solution" not in row["starter_code"]:
            return None
        pairs = leetcode_samples(row["question_content"])
        extra = meta.get("inputs"), meta.get("expected")
        if extra[0] and extra[1] is not None and "truncated" not in extra[0] + str(extra[1]):
            try:
                pairs.append((_value(extra[0]), _value(extra[1])))
            except (ValueError, SyntaxError):
                pass
        if not pairs:
            return None
        return {"inputs": [a for a, _ in pairs], "outputs": [w for _, w in pairs], "fn_name": m.group(1)}
    pairs = atcoder_samples(row["question_content"])
    inp, exp = meta.get("inputs"), meta.get("expected")
    if isinstance(inp, str) and isinstance(exp, str) and "truncated" not in inp + exp and len(inp) < MAX_INPUT:
        pairs.append((inp, exp))
    if not pairs:
        return None
    return {"inputs": [i for i, _ in pairs], "outputs": [o for _, o in pairs]}


def main() -> None:
    heldout = "--heldout" in sys.argv
    sys.argv = [a for a in sys.argv if a != "--heldout"]
    git_dir = sys.argv[1]
    commit = subprocess.run(["git", "-C", git_dir, "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    commit = commit.stdout.strip()
    rng = random.Random(0)
    rows = []
    for model, path in FILES.items():
        blob = subprocess.run(
            ["git", "-C", git_dir, "show", f"{commit}:{path}"], capture_output=True, check=True
        ).stdout
        for r in json.loads(blob):
            if r["platform"] not in ("atcoder", "leetcode"):
                continue
            code = r["code_list"][0]
            if not code.strip():
                continue
            meta = json.loads(r["metadata"][0]) if r["metadata"] else {}
            tests = tests_for(r, meta)
            if tests is None:
                continue
            rows.append(
                {
                    "id": f"lcb-{model.lower()}-{r['question_id']}",
                    "source": "livecodebench",
                    "repo": REPO,
                    "path": path,
                    "commit": commit,
                    "model": model,
                    "platform": r["platform"],
                    "question_id": r["question_id"],
                    "lcb_verdict": bool(r["graded_list"][0]),
                    "lcb_error": meta.get("error_message", "")[:80],
                    "idioms": idioms(code, r["platform"]),
                    "code": code,
                    "tests": tests,
                }
            )
    picked = []
    for name in ("threads", "exit", "sys_exit", "stdout_write", "fastio", "os_read", "atexit"):
        group = [r for r in rows if name in r["idioms"] and r not in picked]
        rng.shuffle(group)
        picked += group[:40]
    group = [r for r in rows if "typing_not_imported" in r["idioms"] and r not in picked]
    rng.shuffle(group)
    picked += group[:60]
    for platform in ("atcoder", "leetcode"):
        for verdict in (True, False):
            group = [r for r in rows if r["platform"] == platform and r["lcb_verdict"] is verdict and r not in picked]
            rng.shuffle(group)
            picked += group[:25]
    everything = list(rows)
    if len(sys.argv) > 2:
        chosen, usable = taco_rows(sys.argv[2], rng)
        picked += chosen
        everything += usable
    if heldout:  # rows the main set does not hold, drawn with another seed
        held = random.Random(1)
        taken = {r["id"] for r in picked}
        lcb = [r for r in rows if r["id"] not in taken]
        taco = [r for r in everything[len(rows) :] if r["id"] not in taken]
        held.shuffle(lcb)
        held.shuffle(taco)
        picked = lcb[:150] + taco[:100]
    picked.sort(key=lambda r: r["id"])
    for r in picked:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
