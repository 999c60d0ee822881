#!/usr/bin/python3
"""Writes one of the data sets scikit-learn ships (no download) as CSV, for nn-data import-csv.

usage: sklearn_data.py diabetes|breast_cancer OUT.csv

diabetes: 442 patients, 10 features as measured (age in years, sex 1/2, BMI, blood pressure,
six serum measurements: load_diabetes(scaled=False)), target a disease-progression score one
year later (25 to 346), column "target". breast_cancer: 569 tumours, 30 features, target 0
(malignant) or 1 (benign). The header names the columns; values are written with repr(), so
the CSV holds each float64 exactly (nn-data rounds it to float32 as for any CSV).
"""
import csv
import sys

from sklearn import datasets


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("diabetes", "breast_cancer"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    name, out = sys.argv[1], sys.argv[2]
    if name == "diabetes":
        d = datasets.load_diabetes(scaled=False)
    else:
        d = datasets.load_breast_cancer()
    names = [str(n).replace(" ", "_") for n in d.feature_names]
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(names + ["target"])
        for x, y in zip(d.data, d.target):
            w.writerow([repr(float(v)) for v in x] + [repr(int(y)) if name != "diabetes" or
                                                       float(y).is_integer() else repr(float(y))])
    return 0


if __name__ == "__main__":
    sys.exit(main())
