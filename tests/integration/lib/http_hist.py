"""hostmon_http_server_request_duration_seconds read back from a scrape: series per cgroup, deltas, and quantiles computed as Prometheus's histogram_quantile does.

    from http_hist import histograms, delta, merged, histogram_quantile, bucket_index, agree
    before = histograms(d, cg)                  # {(runtime, method, status): {"count", "sum", "le"}}
    ...                                         # load
    h = merged(delta(histograms(d, cg), before), "node")   # one histogram: every method/status/route
    p50 = histogram_quantile(0.5, h["le"])

API
    FAMILY, SERIES_RE (groups: 1 suffix bucket|count|sum, 2 cgroup, 3 runtime, 4 method,
        5 status_code, 6 le or None)
    histograms(d, cgroup) -> {(runtime, method, status): {"count": n, "sum": s, "le": {le: n}}},
        summed over routes; le keys are the page's strings ("0.005", "+Inf")
    delta(after, before) -> the same shape, only the keys whose count changed
    quiet(d, cgroup, timeout=5) -> histograms() once two reads 0.3 s apart agree
    counts(h) -> {key: count}
    merged(h, runtime) -> one {"count", "sum", "le"}: every key of that runtime added up
    histogram_quantile(q, le) -> float (nan where Prometheus gives NaN)
    bucket_index(bounds, v) -> i such that v falls in bucket i (le semantics)
    agree(le, q, client, bounds, rel=0.15, dq=0) -> (bool, why)
"""
import math
import re
import time

from cgroup_test import scrape
from hostmon_test import parse_samples

FAMILY = "hostmon_http_server_request_duration_seconds"
# the cgroup's names (container, pod, namespace, unit): any value, escapes included
NAMES = r'container="(?:[^"\\]|\\.)*",pod="[^"]*",namespace="[^"]*",unit="(?:[^"\\]|\\.)*",'
SERIES_RE = re.compile(FAMILY + r'_(bucket|count|sum)\{cgroup="([^"]*)",container_id="[^"]*",'
                       r'pod_uid="[^"]*",' + NAMES + r'runtime="([^"]*)",method="([^"]*)",status_code="([^"]*)"'
                       r',route="(?:[^"\\]|\\.)*"(?:,le="([^"]*)")?\}')


def histograms(d, cgroup):
    """{(runtime, method, status): {"count": n, "sum": s, "le": {bound: n}}} for one cgroup,
    summed over routes (route tests look at the route label themselves)."""
    out = {}
    for key, v in parse_samples(scrape(d)).items():
        m = SERIES_RE.match(key)
        if not m or m.group(2) != cgroup:
            continue
        h = out.setdefault((m.group(3), m.group(4), m.group(5)), {"count": 0, "sum": 0.0, "le": {}})
        if m.group(1) == "bucket":
            h["le"][m.group(6)] = h["le"].get(m.group(6), 0) + v
        else:
            h[m.group(1)] += v
    return out


def delta(after, before):
    out = {}
    for k, h in after.items():
        b = before.get(k, {"count": 0, "sum": 0.0, "le": {}})
        n = h["count"] - b["count"]
        if n:
            out[k] = {"count": n, "sum": h["sum"] - b["sum"],
                      "le": {le: v - b["le"].get(le, 0) for le, v in h["le"].items()}}
    return out


def quiet(d, cg, timeout=5):
    """The cgroup's histograms once they stop changing: a PHP request ends in the kernel when the
    worker writes FCGI_END_REQUEST, which can come just after nginx has answered the client."""
    last = histograms(d, cg)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = histograms(d, cg)
        if now == last:
            return now
        last = now
    return last


def counts(h):
    return {k: x["count"] for k, x in h.items()}


def merged(h, runtime):
    """The histograms of one runtime added up over method, status (and, by histograms(), route)."""
    out = {"count": 0, "sum": 0.0, "le": {}}
    for (rt, _method, _status), x in h.items():
        if rt != runtime:
            continue
        out["count"] += x["count"]
        out["sum"] += x["sum"]
        for le, n in x["le"].items():
            out["le"][le] = out["le"].get(le, 0) + n
    return out


def histogram_quantile(q, le):
    """The q-quantile of cumulative buckets {le string: count}, as PromQL's histogram_quantile
    computes it (promql/quantile.go, bucketQuantile): buckets sorted by bound, a missing +Inf
    bucket or no observations give NaN, counts forced monotonic; rank = q * count(+Inf); the
    first bucket whose cumulative count reaches the rank holds the quantile, linearly
    interpolated between its lower bound (0 for the first bucket) and its upper bound; a rank
    that reaches only the +Inf bucket gives the highest finite bound."""
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    merged_bounds = {}
    for bound, n in le.items():  # buckets of the same bound add up (coalesceBuckets)
        merged_bounds[float(bound)] = merged_bounds.get(float(bound), 0) + n
    buckets = sorted(merged_bounds.items())
    if not buckets or not math.isinf(buckets[-1][0]):
        return math.nan
    running = 0  # ensureMonotonic: a count below the one before it is raised to it
    for i, (bound, n) in enumerate(buckets):
        running = max(running, n)
        buckets[i] = (bound, running)
    if len(buckets) < 2:
        return math.nan
    observations = buckets[-1][1]
    if observations == 0:
        return math.nan
    rank = q * observations
    b = next((i for i in range(len(buckets) - 1) if buckets[i][1] >= rank), len(buckets) - 1)
    if b == len(buckets) - 1:
        return buckets[-2][0]
    if b == 0 and buckets[0][0] <= 0:
        return buckets[0][0]
    start, end, count = 0.0, buckets[b][0], buckets[b][1]
    if b > 0:
        start = buckets[b - 1][0]
        count -= buckets[b - 1][1]
        rank -= buckets[b - 1][1]
    if count == 0:  # rank 0 in an empty first bucket (q = 0): 0/0, NaN in Go's float division
        return math.nan
    return start + (end - start) * (rank / count)


def bucket_index(bounds, v):
    """The bucket v falls in among ascending finite bounds, with Prometheus `le` semantics: the
    first i with v <= bounds[i] (a value equal to a bound is in that bound's bucket), or
    len(bounds) for the +Inf bucket."""
    return next((i for i, b in enumerate(bounds) if v <= b), len(bounds))


def agree(le, q, client, bounds, rel=0.15, dq=0.0):
    """Whether the q-quantile interpolated from hostmon's cumulative buckets le agrees with the
    client's value for q: within rel of it; or within one bucket: the client's value falls in the
    same bucket as hostmon's (bucket_index) or in the one just below or above it; or, with dq > 0,
    within dq in rank: the client's value lies in the buckets from the one of hostmon's
    (q - dq)-quantile to the one of its (q + dq)-quantile (the histogram knows a quantile only to
    its bucket: the interpolated value inside it is a guess from an even spread).
    Interpolation assumes an even spread inside a bucket, so a value in the right bucket can miss
    by more than rel where the bucket is wide; and where the distribution has a gap at q (two
    modes, q between them) a shift of a few requests from one side to the other moves the
    quantile across the gap, which the rank tolerance allows. Returns (ok, why)."""
    mine = histogram_quantile(q, le)
    if math.isnan(mine) or client is None or client <= 0:
        return False, f"hostmon {mine}, client {client}: nothing to compare"
    err = abs(mine - client) / client
    apart = abs(bucket_index(bounds, mine) - bucket_index(bounds, client))
    why = f"{err * 100:.1f}% apart (at most {rel * 100:.0f}%), {apart} bucket(s) apart (at most 1)"
    ok = err <= rel or apart <= 1
    if dq > 0:
        lo, hi = histogram_quantile(max(q - dq, 0), le), histogram_quantile(min(q + dq, 1), le)
        ok = ok or bucket_index(bounds, lo) <= bucket_index(bounds, client) <= bucket_index(bounds, hi)
        why += f", hostmon's q{q - dq:g}..q{q + dq:g} {lo:.4f}..{hi:.4f} s"
    return ok, why
