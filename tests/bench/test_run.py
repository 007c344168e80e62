"""Section 5 of the benchmark merges several short wrk runs of one endpoint into one figure: the
merge must be a true distribution of all their requests. Not a benchmark: no timing."""

from bench.run import merge_slices


def a_run(requests, seconds, latencies_ms, errors=0):
    """A wrk_slice result whose 1,000 percentile points come from `latencies_ms` (sorted, the
    latency at each 0.1 percentile as wrk reports it)."""
    ordered = sorted(latencies_ms)
    grid = [ordered[min(len(ordered) - 1, -(-k * len(ordered) // 1000) - 1)] for k in range(1, 1001)]
    return {"requests": requests, "seconds": seconds, "errors": errors, "grid": grid}


def test_one_run_gives_its_own_rate_and_percentiles():
    run = a_run(1000, 2.0, list(range(1, 1001)))  # 1 ms ... 1000 ms, one request each
    merged = merge_slices([run])
    assert merged["rps"] == 500
    assert merged["p50"] == 500 and merged["p99"] == 990
    assert merged["requests"] == 1000 and merged["per_slice"] == [500]


def test_runs_weigh_by_their_requests_and_the_rate_is_all_requests_over_all_time():
    fast = a_run(3000, 2.0, [10.0] * 3000)  # three times the requests, all at 10 ms
    slow = a_run(1000, 2.0, [100.0] * 1000)
    merged = merge_slices([fast, slow])
    assert merged["rps"] == 1000 and merged["seconds"] == 4.0  # 4,000 requests in 4 s, not the mean of 1,500 and 500
    assert merged["p50"] == 10.0  # 75 % of the requests took 10 ms
    assert merged["p99"] == 100.0  # the slow run's quarter is the tail
    assert merged["per_slice"] == [1500, 500]


def test_errors_add_up():
    merged = merge_slices([a_run(10, 1.0, [1.0] * 10, errors=2), a_run(10, 1.0, [1.0] * 10, errors=3)])
    assert merged["errors"] == 5


def a_snapshot(server, postgres, **machine):
    from bench.run import CPU_FIELDS

    return {"machine": {kind: machine.get(kind, 0.0) for kind in CPU_FIELDS}, "server": server, "postgres": postgres}


def test_cpu_used_is_the_difference_and_the_shares_of_the_machines_time():
    from bench.run import cpu_used

    before = a_snapshot(10.0, 5.0, user=100.0, system=20.0, idle=50.0, steal=30.0)
    after = a_snapshot(13.0, 6.0, user=106.0, system=21.0, idle=51.0, iowait=1.0, steal=31.0)  # 10 s of machine time
    used = cpu_used(before, after)
    assert used["server"] == 3.0 and used["postgres"] == 1.0
    assert used["steal"] == 0.1 and used["idle"] == 0.2  # iowait counts as idle: nobody computed
    assert cpu_used({}, after) == {}  # no /proc: no figure, rather than a wrong one


def test_cpu_per_request_adds_the_runs_up():
    from bench.run import cpu_per_request

    runs = [{"server": 1.0, "postgres": 0.25, "steal": 0.1, "idle": 0.0}, {"server": 2.0, "postgres": 0.75, "steal": 0.3, "idle": 0.1}]
    cpu = cpu_per_request(runs, 1000)
    assert cpu["server_ms"] == 3.0 and cpu["postgres_ms"] == 1.0  # 3 s and 1 s over 1,000 requests
    assert abs(cpu["steal"] - 0.2) < 1e-12 and abs(cpu["idle"] - 0.05) < 1e-12
    assert cpu_per_request(runs + [{}], 1000) == {}  # a run without figures spoils the sum: none is printed
