-- wrk script for bench/run.py section 5: at the end of a run, write its request count, duration,
-- non-2xx/3xx count and the latency at every 0.1 percentile (microseconds) to $WRK_OUT, so that
-- several short runs of the same endpoint can be merged into one distribution.
done = function(summary, latency, requests)
  local out = assert(io.open(os.getenv("WRK_OUT"), "w"))
  out:write(string.format("%d %d %d\n", summary.requests, summary.duration, summary.errors.status))
  for k = 1, 1000 do
    out:write(string.format("%d\n", latency:percentile(k / 10)))
  end
  out:close()
end
