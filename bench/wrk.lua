-- wrk script of the bench driver: POST a GraphQL body with the actor's headers. bench/compare.py
-- writes bench_config.lua next to a copy of this file, defining:
--   BODY      the request body; __ID__ and __KEY__ are replaced per request when present
--   AUTH      the Authorization header value
--   IDS       a list of ids substituted for __ID__ (random per request)
-- done() prints one line "RESULT {json}" with the figures compare.py reads.
dofile(os.getenv("BENCH_LUA_CONFIG"))

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = AUTH

local counter = 0
local has_id = string.find(BODY, "__ID__", 1, true) ~= nil
local has_key = string.find(BODY, "__KEY__", 1, true) ~= nil

function init(args)
  math.randomseed(os.time() + (tonumber(tostring({}):sub(8), 16) or 0))
end

function request()
  if not has_id and not has_key then
    return wrk.format(nil, nil, nil, BODY)
  end
  local body = BODY
  if has_id then
    body = string.gsub(body, "__ID__", IDS[math.random(1, #IDS)], 1)
  end
  if has_key then
    counter = counter + 1
    body = string.gsub(body, "__KEY__", string.format("%08x%08x%08x", math.random(0, 2147483646), os.time(), counter), 1)
  end
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "mean_us": %.1f, ' ..
    '"non2xx": %d, "connect_errors": %d, "read_errors": %d, "timeouts": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, e.status, e.connect, e.read, e.timeout))
end
