-- wrk script: replays the requests of one benchmark case (a Lua file written by prepare.mjs,
-- named by BENCH_PLAN), each thread its own share of them in order, counts the answers by
-- status and prints the summary as one JSON line prefixed BENCH_JSON.
local plan = dofile(os.getenv("BENCH_PLAN"))
local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_id", thread_count)
  table.insert(threads, thread)
end

local prepared = {}
local next_index = 0
counts = {}

function init(args)
  -- Requests in numbered groups (distinct webhook deliveries, each with its own event id) are
  -- shared out, thread k taking groups k, k+n, k+2n..., so no delivery is sent twice. Requests
  -- without a group form one sequence every thread replays whole, in order.
  -- BENCH_GROUP_OFFSET skips the groups earlier runs of the same case have sent.
  local total = tonumber(os.getenv("BENCH_THREADS")) or 1
  local offset = tonumber(os.getenv("BENCH_GROUP_OFFSET")) or 0
  for _, r in ipairs(plan.requests) do
    if r.group == nil or (r.group >= offset and r.group % total == thread_id - 1) then
      table.insert(prepared, wrk.format(r.method, r.path, r.headers, r.body))
    end
  end
end

function request()
  next_index = next_index % #prepared + 1
  return prepared[next_index]
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  local statuses = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("counts")) do
      statuses[status] = (statuses[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(statuses) do
    table.insert(parts, string.format('"%d":%d', status, count))
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"statuses":{%s},"socket_errors":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, table.concat(parts, ","),
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
