"""Self-test of http_hist.py: histogram_quantile() against Prometheus's own, through `promtool test rules`.

For a few bucket sets (one bucket, interpolation inside the first bucket, a rank landing on a
bucket's cumulative count, the quantile in +Inf, unsorted and non-monotonic input, q 0 and 1),
promtool evaluates histogram_quantile(q, series) on the same buckets with our value as the
expected sample: it passes only if they agree. NaN cases are checked here directly (promtool
cannot expect NaN). Also bucket_index() (le semantics) and agree() on hand-made values.
"""
import json
import math
import os
import subprocess
import tempfile

from hostmon_test import main
from http_hist import agree, bucket_index, histogram_quantile

CASES = [
    {"0.1": 10, "+Inf": 10},
    {"0.1": 4, "0.2": 4, "0.5": 10, "+Inf": 10},
    {"0.05": 0, "0.1": 3, "0.25": 90, "0.5": 99, "1": 100, "+Inf": 100},
    {"0.1": 1, "0.2": 2, "+Inf": 10},
    {"+Inf": 7, "0.3": 5, "0.1": 2},
    {"0.1": 5, "0.2": 4, "0.3": 9, "+Inf": 9},
]
QS = (0, 0.25, 0.5, 0.9, 0.99, 1)


def promtool_agrees(cases):
    """(ok, output) of promtool evaluating every case and q against histogram_quantile()."""
    series, exprs = [], []
    for i, le in enumerate(cases):
        for bound, n in le.items():
            series.append({"series": f'h_bucket{{case="{i}",le="{bound}"}}', "values": str(n)})
        for q in QS:
            if math.isnan(histogram_quantile(q, le)):
                continue  # promtool cannot expect NaN: those are checked in run()
            exprs.append({"expr": f'histogram_quantile({q}, h_bucket{{case="{i}"}})', "eval_time": "0m",
                          "exp_samples": [{"labels": f'{{case="{i}"}}', "value": histogram_quantile(q, le)}]})
    doc = {"rule_files": [], "evaluation_interval": "1m",
           "tests": [{"interval": "1m", "input_series": series, "promql_expr_test": exprs}]}
    with tempfile.TemporaryDirectory(prefix="hostmon-hist-") as tmp:
        path = os.path.join(tmp, "test.yml")
        with open(path, "w") as f:
            json.dump(doc, f)  # JSON is YAML
        p = subprocess.run(["promtool", "test", "rules", path], capture_output=True, text=True)
    return p.returncode == 0, p.stdout + p.stderr


def run(t):
    ok, out = promtool_agrees(CASES)
    t.check(ok, f"histogram_quantile() agrees with promtool on {len(CASES)} bucket sets x {len(QS)} quantiles:\n{out}")
    t.check(math.isnan(histogram_quantile(0.5, {"0.1": 3})), "no +Inf bucket: NaN")
    t.check(math.isnan(histogram_quantile(0.5, {"0.1": 0, "+Inf": 0})), "no observations: NaN")
    t.check(math.isnan(histogram_quantile(0.5, {"+Inf": 4})), "only +Inf: NaN")
    t.check(math.isnan(histogram_quantile(0, CASES[2])), "q 0 with an empty first bucket: 0/0, NaN")
    t.check(histogram_quantile(-1, {"+Inf": 1}) == -math.inf and histogram_quantile(2, {"+Inf": 1}) == math.inf,
            "q outside [0, 1]: -Inf, +Inf")
    bounds = (0.1, 0.2, 0.5)
    got = [bucket_index(bounds, v) for v in (0.05, 0.1, 0.1000001, 0.2, 0.5, 0.6)]
    t.check(got == [0, 0, 1, 1, 2, 3], f"bucket_index: a value equal to a bound is in its bucket: {got}")
    le = {"0.1": 50, "0.2": 50, "0.5": 52, "1": 100, "+Inf": 100}  # two modes, the median at the gap
    t.check(agree(le, 0.5, 0.11, bounds)[0] and agree(le, 0.5, 0.18, bounds)[0],
            f"agree: within 15% or in an adjacent bucket: {agree(le, 0.5, 0.18, bounds)}")
    t.check(not agree(le, 0.5, 0.45, bounds)[0], f"agree: two buckets apart: {agree(le, 0.5, 0.45, bounds)}")
    t.check(agree(le, 0.5, 0.45, bounds, dq=0.05)[0] and not agree(le, 0.5, 0.6, bounds, dq=0.01)[0],
            f"agree: within dq in rank: {agree(le, 0.5, 0.45, bounds, dq=0.05)}")
    # q0.51 is the 51st of 100 values, in (0.2, 0.5]: interpolated 0.35, but 0.49 is as possible
    t.check(agree(le, 0.5, 0.49, bounds, dq=0.01)[0] and not agree(le, 0.5, 0.55, bounds, dq=0.01)[0],
            f"agree: in rank, to the bucket of hostmon's quantile: {agree(le, 0.5, 0.49, bounds, dq=0.01)}")
    t.check(not agree({"+Inf": 0}, 0.5, 0.2, bounds)[0] and not agree(le, 0.5, None, bounds)[0],
            "agree: nothing to compare")

if __name__ == "__main__":
    main(run, "lib/test_http_hist")
