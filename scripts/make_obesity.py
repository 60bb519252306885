"""Generate neuronlab's built-in ``obesity`` data set (src/neuronlab/io/bundled/obesity.csv).

The course's example: from a person's height (in feet) and weight (in kg), tell
whether they are obese.  Each synthetic adult is drawn as follows, from one numpy
Generator seeded with SEED, so the file is the same bits on every machine:

1. sex: male or female with probability ½ each (only used to draw the height);
2. height in cm ~ Normal(175.5, 7.4) for men, Normal(162.0, 7.0) for women
   (typical adult means and spreads), kept within [140, 205] cm by redrawing;
3. body-mass index BMI ~ LogNormal(ln 27, 0.18), kept within [16, 50] by redrawing
   (median 27 kg/m², about a quarter of adults at BMI ≥ 30);
4. weight in kg = BMI · (height in m)²;
5. height is written in feet to 2 decimals (1 ft = 0.3048 m) and weight to 1 decimal;
6. condition = "Obese" when the *written* numbers give BMI = kg / m² ≥ 30 (the WHO
   rule), else "Not Obese";
7. label noise: each label is flipped with probability NOISE (2 %), standing for
   mis-recorded measurements; the flipped rows are listed in the data card.

Finally the course's person — 4 ft, 80 kg, BMI 53.8, Obese — is added as the
first row.  Run ``python scripts/make_obesity.py [OUT]`` to regenerate the file;
the test suite regenerates it and checks the shipped copy is identical.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

SEED = 20240917
N_PEOPLE = 400
NOISE = 0.02
FOOT = 0.3048  # metres


def _truncated(draw, size, low, high):
    """``size`` values drawn with ``draw(k)``, those outside [low, high] redrawn."""
    values = draw(size)
    while True:
        bad = (values < low) | (values > high)
        if not bad.any():
            return values
        values[bad] = draw(int(bad.sum()))


def generate():
    """Rows (height_ft, weight_kg, condition) and the indices of the flipped labels."""
    rng = np.random.default_rng(SEED)
    male = rng.random(N_PEOPLE) < 0.5
    height_cm = np.empty(N_PEOPLE)
    for is_male, mean, sd in ((True, 175.5, 7.4), (False, 162.0, 7.0)):
        mask = male == is_male
        height_cm[mask] = _truncated(lambda k: rng.normal(mean, sd, k), int(mask.sum()), 140.0, 205.0)
    bmi = _truncated(lambda k: np.exp(rng.normal(np.log(27.0), 0.18, k)), N_PEOPLE, 16.0, 50.0)
    weight = np.round(bmi * (height_cm / 100.0) ** 2, 1)
    height_ft = np.round(height_cm / 100.0 / FOOT, 2)
    obese = weight / (height_ft * FOOT) ** 2 >= 30.0
    flipped = np.flatnonzero(rng.random(N_PEOPLE) < NOISE)
    obese[flipped] = ~obese[flipped]
    rows = [(4.0, 80.0, "Obese")]  # the course's person: 4 ft, 80 kg
    rows += [(float(h), float(w), "Obese" if o else "Not Obese") for h, w, o in zip(height_ft, weight, obese)]
    return rows, [int(i) + 1 for i in flipped]  # +1: the course's person is row 0


def to_csv(rows) -> str:
    lines = ["height,weight,condition"]
    lines += [f"{h:.2f},{w:.1f},{c}" for h, w, c in rows]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else Path(__file__).resolve().parents[1] / "src/neuronlab/io/bundled/obesity.csv"
    rows, flipped = generate()
    out.write_text(to_csv(rows), encoding="utf-8", newline="\n")
    obese = sum(c == "Obese" for _, _, c in rows)
    print(f"wrote {out}: {len(rows)} people, {obese} Obese, labels flipped at data rows {flipped}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
