#!/usr/bin/python3
"""Writes one of the data sets scikit-learn ships (no download) as CSV, for nn-data import-csv.

usage: sklearn_data.py diabetes|breast_cancer|iris|wine|digits|linnerud OUT.csv
       sklearn_data.py all DIR        (every set, as DIR/NAME.csv)

diabetes: 442 patients, 10 features as measured (age in years, sex 1/2, BMI, blood pressure,
six serum measurements: load_diabetes(scaled=False)), target a disease-progression score one
year later (25 to 346), column "target". breast_cancer: 569 tumours, 30 features, target 0
(malignant) or 1 (benign). iris: 150 flowers, 4 measurements, 3 species (the target as the
species' name: setosa, versicolor, virginica). wine: 178 wines, 13 measurements, 3 cultivars
(0-2). digits: 1797 8x8 images, 64 pixel counts 0-16, the digit 0-9. linnerud: 20 men, 3
exercises (Chins, Situps, Jumps), and the first of its 3 physiological targets, Weight (the
importer takes one label column). The header names the columns; values are written with
repr(), so the CSV holds each float64 exactly (nn-data rounds it to float32 as for any CSV).
"""
import csv
import sys

from sklearn import datasets


def main():
    sets = ("diabetes", "breast_cancer", "iris", "wine", "digits", "linnerud")
    if len(sys.argv) != 3 or sys.argv[1] not in sets + ("all",):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    if sys.argv[1] == "all":  # every set, as DIR/NAME.csv (one start of Python and sklearn)
        for name in sets:
            write(name, f"{sys.argv[2]}/{name}.csv")
        return 0
    write(sys.argv[1], sys.argv[2])
    return 0


def write(name, out):
    if name == "diabetes":
        d = datasets.load_diabetes(scaled=False)
    else:
        d = getattr(datasets, "load_" + name)()
    if name == "linnerud":
        d.target = d.target[:, 0]
    if name == "iris":
        d.target = [str(d.target_names[y]) for y in d.target]
    names = [str(n).replace(" ", "_") for n in d.feature_names]
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(names + ["target"])
        for x, y in zip(d.data, d.target):
            if isinstance(y, str):
                label = y
            elif name not in ("diabetes", "linnerud") or float(y).is_integer():
                label = repr(int(y))
            else:
                label = repr(float(y))
            w.writerow([repr(float(v)) for v in x] + [label])
    return 0


if __name__ == "__main__":
    sys.exit(main())
