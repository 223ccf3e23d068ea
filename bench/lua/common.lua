-- Prepended to every scenario script by bench/wrk.py.
--
-- Counts responses by HTTP status in every wrk thread, and at the end prints one line,
-- "BENCHJSON {...}", with requests, duration, latency percentiles, status counts and any
-- scenario counters (the global table `extra`). bench/wrk.py reads that line.

counts = {}   -- status -> responses, per thread (read back by done() via thread:get)
extra = {}    -- scenario counters, per thread
thread_id = 0 -- 0-based, set by setup() before the thread's init() runs
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

function count_status(status)
  counts[status] = (counts[status] or 0) + 1
end

function bump(name)
  extra[name] = (extra[name] or 0) + 1
end

-- Scenarios may replace this (calling count_status themselves).
function response(status, headers, body)
  count_status(status)
end

local function merge(into, from)
  for k, v in pairs(from or {}) do
    into[tostring(k)] = (into[tostring(k)] or 0) + v
  end
end

local function encode(value)
  if type(value) == "table" then
    local parts = {}
    for k, v in pairs(value) do
      parts[#parts + 1] = string.format("%q:%s", tostring(k), encode(v))
    end
    return "{" .. table.concat(parts, ",") .. "}"
  elseif type(value) == "number" then
    if value ~= value or value == math.huge or value == -math.huge then
      return "null"
    end
    return string.format("%.17g", value)
  end
  return string.format("%q", tostring(value))
end

function done(summary, latency, requests)
  local statuses, scenario = {}, {}
  for _, t in ipairs(threads) do
    merge(statuses, t:get("counts"))
    merge(scenario, t:get("extra"))
  end
  local percentiles = {}
  for _, p in ipairs({50, 75, 90, 99, 99.9}) do
    percentiles[tostring(p)] = latency:percentile(p)
  end
  io.write("BENCHJSON ", encode({
    requests = summary.requests,
    duration_us = summary.duration,
    bytes = summary.bytes,
    errors = summary.errors,
    latency_us = {
      mean = latency.mean, max = latency.max, min = latency.min, stdev = latency.stdev,
      percentiles = percentiles,
    },
    statuses = statuses,
    extra = scenario,
  }), "\n")
end
