"""Procedural geometry problems with rendered diagrams, shaped like GeoQA.

Real GeoQA items are a diagram, a question ("As shown in the figure, AB ∥ CD, ... then ∠EFD
= ()") and four choices with a letter answer. This module draws such diagrams with pillow
(triangles, circles, parallel lines cut by a transversal; labelled points, angles and lengths)
and writes matching ``Problem`` rows whose answers are known exactly, for demos, tests and data
augmentation. Every row keeps the drawn coordinates in ``meta["points"]`` and what is asked in
``meta["target"]``, so the answer can be recomputed from the picture itself (the tests do).

    rows, images = generate(8, seed=0)                  # Problem dicts + PIL images
    write_problems("data/geo_synth", n=200, seed=0)    # problems.jsonl + images/*.png
    python -m geo.generator --out data/geo_synth --n 200 --training-rows   # + sft / preference rows

Kinds: triangle_sum, isosceles, parallel, inscribed, diameter, pythagoras.
"""

from __future__ import annotations

import argparse
import math
import random
from pathlib import Path

from redstar.choices import LETTERS

SIZE = 320  # canvas side in pixels
MARGIN = 36  # room for the labels around the figure
KINDS = ("triangle_sum", "isosceles", "parallel", "inscribed", "diameter", "pythagoras")
TRIPLES = ((3, 4, 5), (5, 12, 13), (6, 8, 10), (8, 15, 17), (9, 12, 15), (7, 24, 25))


def angle_at(p, v, q) -> float:
    """The angle p-v-q in degrees (0..180), from coordinates."""
    a = math.atan2(p[1] - v[1], p[0] - v[0])
    b = math.atan2(q[1] - v[1], q[0] - v[0])
    d = abs(math.degrees(a - b)) % 360
    return 360 - d if d > 180 else d


def _fit(points: dict[str, tuple[float, float]], extra: list[tuple[float, float]] = ()) -> dict:
    """Scale and translate math coordinates (y up) into the canvas (y down), keeping shape."""
    xs = [p[0] for p in [*points.values(), *extra]]
    ys = [p[1] for p in [*points.values(), *extra]]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-9)
    s = (SIZE - 2 * MARGIN) / span
    ox = (SIZE - (max(xs) - min(xs)) * s) / 2
    oy = (SIZE - (max(ys) - min(ys)) * s) / 2

    def tr(p):
        return (round(ox + (p[0] - min(xs)) * s, 2), round(SIZE - oy - (p[1] - min(ys)) * s, 2))

    return {k: tr(v) for k, v in points.items()}, s, tr


class _Canvas:
    def __init__(self):
        from PIL import Image, ImageDraw, ImageFont

        self.img = Image.new("RGB", (SIZE, SIZE), "white")
        self.draw = ImageDraw.Draw(self.img)
        try:
            self.font = ImageFont.load_default(size=14)
        except TypeError:  # pillow < 10.1
            self.font = ImageFont.load_default()

    def line(self, p, q, width=2):
        self.draw.line([p, q], fill="black", width=width)

    def circle(self, c, r):
        self.draw.ellipse([c[0] - r, c[1] - r, c[0] + r, c[1] + r], outline="black", width=2)

    def text(self, p, s, away_from=None, dist=12):
        x, y = p
        if away_from is not None:
            dx, dy = x - away_from[0], y - away_from[1]
            n = math.hypot(dx, dy) or 1.0
            x, y = x + dx / n * dist, y + dy / n * dist
        self.draw.text((x, y), s, fill="black", font=self.font, anchor="mm")

    def labels(self, pts: dict, center, names=None):
        for name in names or pts:
            self.text(pts[name], name, away_from=center)


def _choices(rng: random.Random, answer: float, distractors: list[float], unit: str) -> tuple[list[str], str]:
    """Four distinct choices (the answer and plausible mistakes), shuffled; returns (texts, letter)."""

    def fmt(v):
        v = round(v, 2)
        return (str(int(v)) if float(v).is_integer() else str(v)) + unit

    pool = [d for d in dict.fromkeys(round(d, 2) for d in distractors) if d > 0 and d != round(answer, 2)]
    step = 5 if unit == "°" else 1
    k = 1
    while len(pool) < 3:  # top up with near misses
        for cand in (answer + k * step, answer - k * step):
            if cand > 0 and round(cand, 2) not in pool and round(cand, 2) != round(answer, 2) and len(pool) < 3:
                pool.append(round(cand, 2))
        k += 1
    values = [round(answer, 2)] + rng.sample(pool, 3)
    rng.shuffle(values)
    return [fmt(v) for v in values], LETTERS[values.index(round(answer, 2))]


def _triangle(a_deg: float, b_deg: float):
    """Triangle with angles A, B at the base AB (length 1), C above it."""
    ta, tb = math.radians(a_deg), math.radians(b_deg)
    # C = A + t (cos A, sin A) with the line from B at angle 180 - B
    t = math.sin(tb) / math.sin(ta + tb)
    return {"A": (0.0, 0.0), "B": (1.0, 0.0), "C": (t * math.cos(ta), t * math.sin(ta))}


def _triangle_sum(rng):
    a, b = rng.randrange(30, 91, 5), rng.randrange(30, 81, 5)
    if a + b > 150:
        b = 150 - a
    ans = 180 - a - b
    pts, _, _ = _fit(_triangle(a, b))
    cv = _Canvas()
    for p, q in (("A", "B"), ("B", "C"), ("C", "A")):
        cv.line(pts[p], pts[q])
    cv.labels(pts, _centroid(pts))
    q = f"As shown in the figure, in triangle ABC, ∠A = {a}°, ∠B = {b}°, then the degree of ∠C is ()"
    sol = f"The angles of a triangle sum to 180°, so ∠C = 180° - ∠A - ∠B = 180° - {a}° - {b}° = {ans}°."
    return cv, pts, q, ans, [180 - a, 180 - b, a + b, 90 - a / 2], "°", {"kind": "angle", "at": ["A", "C", "B"]}, sol


def _isosceles(rng):
    apex = rng.randrange(20, 141, 10)
    base = (180 - apex) / 2
    raw = _triangle(base, base)
    raw = {"B": raw["A"], "C": raw["B"], "A": raw["C"]}  # apex A on top, AB = AC
    pts, _, _ = _fit(raw)
    cv = _Canvas()
    for p, q in (("A", "B"), ("B", "C"), ("C", "A")):
        cv.line(pts[p], pts[q])
    cv.labels(pts, _centroid(pts))
    q = f"As shown in the figure, in triangle ABC, AB = AC, ∠A = {apex}°, then the degree of ∠B is ()"
    sol = (
        f"Since AB = AC, the base angles are equal: ∠B = ∠C. Hence ∠B = (180° - ∠A) / 2 = "
        f"(180° - {apex}°) / 2 = {base:g}°."
    )
    return (
        cv,
        pts,
        q,
        base,
        [apex, 180 - apex, 90 - apex / 2, 180 - base],
        "°",
        {"kind": "angle", "at": ["A", "B", "C"]},
        sol,
    )


def _parallel(rng):
    x = rng.randrange(35, 146, 5)  # ∠GEB: transversal (upward) against AB (rightward)
    t = math.radians(x)
    d = (math.cos(t), math.sin(t))  # direction of the transversal, pointing up
    e, f = (0.0, 1.0), (-d[0] / d[1], 0.0)  # E on AB (y = 1), F on CD (y = 0)
    raw = {
        "A": (-1.6, 1.0),
        "B": (1.6, 1.0),
        "C": (-1.6, 0.0),
        "D": (1.6, 0.0),
        "E": e,
        "F": f,
        "G": (e[0] + 0.5 * d[0] / d[1], 1.5),
        "H": (f[0] - 0.5 * d[0] / d[1], -0.5),
    }
    pts, _, _ = _fit(raw)
    cv = _Canvas()
    cv.line(pts["A"], pts["B"])
    cv.line(pts["C"], pts["D"])
    cv.line(pts["G"], pts["H"])
    for name, up in (("A", True), ("B", True), ("C", False), ("D", False)):
        cv.text((pts[name][0], pts[name][1] + (-12 if up else 12)), name)
    for name, dx in (("E", -12), ("F", 12)):
        cv.text((pts[name][0] + dx, pts[name][1] - 10), name)
    for name in ("G", "H"):
        cv.text((pts[name][0] + 12, pts[name][1]), name)
    target, ans, reason = rng.choice(
        [
            (["E", "F", "D"], x, "∠EFD and ∠GEB are corresponding angles, so they are equal"),
            (["A", "E", "F"], x, "∠AEF and ∠GEB are vertical angles, so they are equal"),
            (["B", "E", "F"], 180 - x, "∠BEF and ∠GEB form a straight angle, so ∠BEF = 180° - ∠GEB"),
            (
                ["C", "F", "E"],
                180 - x,
                "∠CFE and ∠EFD are supplementary and ∠EFD = ∠GEB (corresponding), so ∠CFE = 180° - ∠GEB",
            ),
        ]
    )
    name = "∠" + "".join(target)
    q = (
        f"As shown in the figure, AB ∥ CD, the line GH intersects AB at E and CD at F. If ∠GEB = {x}°, "
        f"then the degree of {name} is ()"
    )
    sol = f"Because AB ∥ CD, {reason}. Hence {name} = {ans}°."
    return cv, pts, q, ans, [180 - ans, 90 - ans / 2, ans / 2, abs(90 - ans)], "°", {"kind": "angle", "at": target}, sol


def _circle_points(angles: dict[str, float]):
    return {k: (math.cos(math.radians(a)), math.sin(math.radians(a))) for k, a in angles.items()}


def _inscribed(rng):
    central = rng.randrange(40, 161, 10)  # ∠AOB; C on the major arc
    start = rng.uniform(200, 260)
    c_ang = start + central + (360 - central) / 2 + rng.uniform(-20, 20)
    raw = {**_circle_points({"A": start, "B": start + central, "C": c_ang}), "O": (0.0, 0.0)}
    pts, s, tr = _fit(raw, extra=[(-1, -1), (1, 1)])
    cv = _Canvas()
    cv.circle(pts["O"], s)
    for p, q in (("A", "O"), ("B", "O"), ("A", "C"), ("B", "C")):
        cv.line(pts[p], pts[q])
    cv.labels(pts, pts["O"], ["A", "B", "C"])
    cv.text((pts["O"][0] + 10, pts["O"][1] - 8), "O")
    ask_inscribed = rng.random() < 0.6
    if ask_inscribed:
        ans, target = central / 2, ["A", "C", "B"]
        q = f"As shown in the figure, A, B and C are on circle O. If ∠AOB = {central}°, then the degree of ∠ACB is ()"
        sol = (
            f"∠ACB is an inscribed angle subtending the same arc AB as the central angle ∠AOB, so "
            f"∠ACB = ∠AOB / 2 = {central}° / 2 = {ans:g}°."
        )
        dis = [central, 180 - central / 2, 90 - central / 2, 360 - central]
    else:
        ans, target = central, ["A", "O", "B"]
        q = (
            f"As shown in the figure, A, B and C are on circle O. If ∠ACB = {central // 2}°, "
            f"then the degree of ∠AOB is ()"
        )
        sol = (
            f"The central angle ∠AOB subtends the same arc AB as the inscribed angle ∠ACB, so "
            f"∠AOB = 2∠ACB = 2 × {central // 2}° = {ans}°."
        )
        dis = [central / 2, 180 - central, 90 + central / 2, 180 - central / 2]
    return cv, pts, q, ans, dis, "°", {"kind": "angle", "at": target}, sol


def _diameter(rng):
    x = rng.randrange(20, 71, 5)  # ∠ABC; AB is a diameter, so ∠ACB = 90°
    raw = {**_circle_points({"A": 180.0, "B": 0.0, "C": 180 - 2 * x}), "O": (0.0, 0.0)}
    pts, s, _ = _fit(raw, extra=[(-1, -1), (1, 1)])
    cv = _Canvas()
    cv.circle(pts["O"], s)
    for p, q in (("A", "B"), ("A", "C"), ("B", "C")):
        cv.line(pts[p], pts[q])
    cv.labels(pts, pts["O"], ["A", "B", "C"])
    cv.text((pts["O"][0], pts["O"][1] + 10), "O")
    ans = 90 - x
    q = f"As shown in the figure, AB is the diameter of circle O and C is on the circle. If ∠ABC = {x}°, then ∠BAC = ()"
    sol = (
        f"An angle inscribed in a semicircle is a right angle, so ∠ACB = 90°. Then ∠BAC = 180° - 90° - "
        f"∠ABC = 90° - {x}° = {ans}°."
    )
    return cv, pts, q, ans, [x, 180 - 2 * x, 2 * x, 180 - x], "°", {"kind": "angle", "at": ["B", "A", "C"]}, sol


def _pythagoras(rng):
    a, b, c = rng.choice(TRIPLES)
    if rng.random() < 0.5:
        a, b = b, a
    raw = {"C": (0.0, 0.0), "A": (0.0, float(a)), "B": (float(b), 0.0)}
    pts, _, _ = _fit(raw)
    cv = _Canvas()
    for p, q in (("A", "B"), ("B", "C"), ("C", "A")):
        cv.line(pts[p], pts[q])
    r = 12  # right-angle mark at C
    cx, cy = pts["C"]
    cv.draw.line([(cx + r, cy), (cx + r, cy - r), (cx, cy - r)], fill="black", width=1)
    cv.labels(pts, _centroid(pts))
    cv.text(((pts["A"][0] + cx) / 2 - 14, (pts["A"][1] + cy) / 2), str(a))
    cv.text(((pts["B"][0] + cx) / 2, (pts["B"][1] + cy) / 2 + 12), str(b))
    q = f"As shown in the figure, in right triangle ABC, ∠C = 90°, AC = {a}, BC = {b}, then the length of AB is ()"
    sol = f"By the Pythagorean theorem, AB = √(AC² + BC²) = √({a * a} + {b * b}) = √{c * c} = {c}."
    target = {"kind": "length", "of": ["A", "B"], "unit_from": ["A", "C", a]}
    return cv, pts, q, c, [a + b, abs(b - a) + 1, c + 1, c - 1], "", target, sol


def _centroid(pts):
    xs, ys = zip(*pts.values())
    return (sum(xs) / len(xs), sum(ys) / len(ys))


_MAKERS = {
    "triangle_sum": _triangle_sum,
    "isosceles": _isosceles,
    "parallel": _parallel,
    "inscribed": _inscribed,
    "diameter": _diameter,
    "pythagoras": _pythagoras,
}


def make_problem(kind: str, rng: random.Random, pid: str) -> tuple[dict, object]:
    """One (Problem row dict, PIL image) of the given kind."""
    if kind not in _MAKERS:
        raise ValueError(f"unknown geometry kind {kind!r} (known: {', '.join(KINDS)})")
    cv, pts, question, ans, distractors, unit, target, sol = _MAKERS[kind](rng)
    choices, letter = _choices(rng, ans, distractors, unit)
    row = {
        "id": pid,
        "source": "geo_synth",
        "domain": "geo",
        "question": question,
        "answer": letter,
        "solution": f"{sol} The answer is {choices[LETTERS.index(letter)]}, choice \\boxed{{{letter}}}.",
        "choices": choices,
        "images": [],
        "tests": None,
        "difficulty": None,
        "meta": {
            "kind": kind,
            "answer_value": round(float(ans), 2),
            "unit": unit,
            "points": {k: list(v) for k, v in pts.items()},
            "target": target,
        },
    }
    return row, cv.img


def recompute_answer(meta: dict) -> float:
    """The asked quantity measured on the drawn coordinates (independent of the generator's
    arithmetic): an angle in degrees, or a length scaled by a labelled side."""
    pts = {k: tuple(v) for k, v in meta["points"].items()}
    target = meta["target"]
    if target["kind"] == "angle":
        p, v, q = target["at"]
        return angle_at(pts[p], pts[v], pts[q])
    p, q = target["of"]
    u1, u2, known = target["unit_from"]
    return math.dist(pts[p], pts[q]) * known / math.dist(pts[u1], pts[u2])


def generate(n: int, seed: int = 0, kinds: tuple[str, ...] = KINDS) -> tuple[list[dict], list]:
    """``n`` problems cycling through ``kinds`` (rows without image paths yet, and images)."""
    rng = random.Random(seed)
    rows, images = [], []
    for i in range(n):
        row, img = make_problem(kinds[i % len(kinds)], rng, f"geo_synth-{seed}-{i}")
        rows.append(row)
        images.append(img)
    return rows, images


def write_problems(
    out_dir: str | Path, n: int, seed: int = 0, kinds: tuple[str, ...] = KINDS, progress: bool = True
) -> Path:
    """Write ``problems.jsonl`` and ``images/<id>.png`` (paths in rows relative to the JSONL)."""
    from tqdm import tqdm

    from redstar.dataio import atomic_open, write_jsonl

    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    rows, images = generate(n, seed, kinds)
    for row, img in tqdm(list(zip(rows, images)), desc="draw", disable=not progress, unit="img"):
        rel = f"images/{row['id']}.png"
        with atomic_open(out / rel, "wb") as f:
            img.save(f, format="PNG")
        row["images"] = [rel]
    write_jsonl(out / "problems.jsonl", rows)
    return out / "problems.jsonl"


def main(argv: list[str] | None = None) -> int:
    """python -m geo.generator --out data/geo_synth --n 200 --seed 0 --training-rows"""
    ap = argparse.ArgumentParser(
        prog="python -m geo.generator", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kinds", default=",".join(KINDS), help="comma-separated subset of " + ", ".join(KINDS))
    ap.add_argument(
        "--training-rows",
        action="store_true",
        help="also write sft.jsonl (reference solutions) and preference.jsonl (vs a wrong choice)",
    )
    args = ap.parse_args(argv)
    kinds = tuple(k for k in args.kinds.split(",") if k)
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        ap.error(f"unknown kind {unknown[0]!r} (known: {', '.join(KINDS)})")
    path = write_problems(args.out, args.n, args.seed, kinds)
    print(f"wrote {args.n} problems to {path}")
    if args.training_rows:
        from geo.dpo import preference_rows_from_problems
        from geo.sft import sft_rows_from_problems
        from redstar.dataio import read_jsonl, write_jsonl

        problems = read_jsonl(path)
        write_jsonl(path.parent / "sft.jsonl", sft_rows_from_problems(problems))
        write_jsonl(path.parent / "preference.jsonl", preference_rows_from_problems(problems, args.seed))
        print(f"wrote {path.parent / 'sft.jsonl'} and {path.parent / 'preference.jsonl'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
