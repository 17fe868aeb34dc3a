#!/usr/bin/env python3
"""Reference values for MannWhitneyU, computed independently by SciPy.

Run from this directory: python3 make_fixtures.py > cases.json
Each case: two samples and scipy.stats.mannwhitneyu(x, y) with its defaults
(two-sided, use_continuity=True, method='auto'), plus the method 'auto' chose.
"""
import json
import random

import scipy
from scipy.stats import mannwhitneyu
from scipy.stats._mannwhitneyu import _mwu_choose_method

rng = random.Random(20261126)


def case(name, x, y):
    result = mannwhitneyu(x, y)
    ties = len(set(x + y)) < len(x + y)
    return {
        "name": name,
        "x": x,
        "y": y,
        "u": float(result.statistic),
        "p_value": float(result.pvalue),
        "method": _mwu_choose_method(len(x), len(y), ties),
    }


cases = [
    case("exact, separated", [1.0, 2.0, 3.0], [4.0, 5.0, 6.0]),
    case("exact, interleaved", [1.1, 3.2, 5.3, 7.4], [2.5, 4.6, 6.7, 8.8, 9.9]),
    case("exact, 8 and 8", [12.0, 15.5, 11.2, 19.8, 14.1, 13.3, 16.6, 18.0],
         [10.1, 9.4, 12.7, 11.9, 8.8, 10.6, 13.9, 9.9]),
    case("exact, 3 and 20", [rng.uniform(10, 30) for _ in range(3)], [rng.uniform(0, 20) for _ in range(20)]),
    case("asymptotic, ties in error rates", [0.0, 0.0, 0.02, 0.0, 0.05, 0.0], [0.0, 0.0, 0.0, 0.01, 0.0, 0.0]),
    case("asymptotic, all equal", [0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]),
    case("asymptotic, 12 and 15 latencies",
         [round(rng.gauss(120, 15), 3) for _ in range(12)], [round(rng.gauss(100, 15), 3) for _ in range(15)]),
    case("asymptotic, 30 and 30 same distribution",
         [round(rng.gauss(50, 5), 3) for _ in range(30)], [round(rng.gauss(50, 5), 3) for _ in range(30)]),
    case("asymptotic, rounded with ties",
         [float(rng.randint(1, 6)) for _ in range(10)], [float(rng.randint(3, 9)) for _ in range(11)]),
    case("asymptotic, one value against many", [5.0], [1.0, 2.0, 5.0, 7.0, 9.0, 5.0]),
]

print(json.dumps({"scipy": scipy.__version__, "cases": cases}, indent=2))
