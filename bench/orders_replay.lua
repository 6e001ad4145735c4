-- wrk script for bench/orders_bench.py: replays pre-signed order events, one
-- "path<TAB>X-Signature<TAB>body" per line. Of N threads, thread i sends lines i, i+N, i+2N…
-- in order: all threads move through the file together and no event is sent twice.
local threads = 0

function setup(thread)
  thread:set("index", threads)
  threads = threads + 1
  thread:set("count", 0)
end

local requests = {}
local counter = 0

function init(args)
  local all = {}
  for line in io.lines(args[1]) do
    all[#all + 1] = line
  end
  local slices = tonumber(args[2])
  for i = index + 1, #all, slices do
    local line = all[i]
    local a = string.find(line, "\t", 1, true)
    local b = string.find(line, "\t", a + 1, true)
    requests[#requests + 1] = wrk.format("POST", string.sub(line, 1, a - 1),
      {["Content-Type"] = "application/json", ["X-Signature"] = string.sub(line, a + 1, b - 1)},
      string.sub(line, b + 1))
  end
end

function request()
  counter = counter + 1
  return requests[(counter - 1) % #requests + 1]
end

function done(summary, latency, _)
  io.write(string.format(
    "RESULT {\"requests\": %d, \"seconds\": %.3f, \"p50_ms\": %.2f, \"p99_ms\": %.2f, " ..
    "\"errors\": %d, \"non2xx\": %d}\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
