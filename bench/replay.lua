-- wrk script: replays pre-signed WeChat requests (one "path<TAB>body" per line).
-- Each wrk thread starts at its own share of the file so no two threads send the same message.
local threads = 0

function setup(thread)
  thread:set("offset", threads)
  threads = threads + 1
end

local requests = {}
local counter = 0

function init(args)
  for line in io.lines(args[1]) do
    local tab = string.find(line, "\t", 1, true)
    requests[#requests + 1] = wrk.format("POST", string.sub(line, 1, tab - 1),
      {["Content-Type"] = "text/xml"}, string.sub(line, tab + 1))
  end
  -- args[2]: how many wrk threads share the file (-t)
  counter = offset * math.floor(#requests / tonumber(args[2] or 4))
end

function request()
  counter = counter + 1
  return requests[counter % #requests + 1]
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
