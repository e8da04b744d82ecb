-- wrk script for Chuda benchmarks: POSTs a body template (written by Chuda.Bench) in which
--   @U@ is replaced by a random user number in [0, CHUDA_BENCH_PROFILES), @V@ repeats the last one,
--   @M@ by a message id unique to this run, thread, request and event (so de-duplication never turns a request into a no-op).
-- CHUDA_BENCH_LIMIT > 0 stops each thread after that many responses (a fixed amount of work instead of a duration).
local body_file = os.getenv("CHUDA_BENCH_BODY")
local profiles = tonumber(os.getenv("CHUDA_BENCH_PROFILES") or "100000")
local run = os.getenv("CHUDA_BENCH_RUN") or "r"
local path = os.getenv("CHUDA_BENCH_PATH") or "/v1/batch"
local auth = os.getenv("CHUDA_BENCH_AUTH")
local limit = tonumber(os.getenv("CHUDA_BENCH_LIMIT") or "0")

local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

local parts, kinds, tail, headers
local n, responses = 0, 0

function init(args)
  local f = assert(io.open(body_file, "rb"))
  local t = f:read("*a")
  f:close()
  parts, kinds = {}, {}
  local pos = 1
  while true do
    local s, e, k = string.find(t, "@(%u)@", pos)
    if not s then break end
    parts[#parts + 1] = string.sub(t, pos, s - 1)
    kinds[#kinds + 1] = k
    pos = e + 1
  end
  tail = string.sub(t, pos)
  headers = { ["Content-Type"] = "application/json" }
  if auth and auth ~= "" then headers["Authorization"] = auth end
  math.randomseed(os.time() + (tid or 0) * 7919)
end

function request()
  n = n + 1
  local buf = {}
  local user = 0
  local ev = 0
  for i = 1, #parts do
    buf[#buf + 1] = parts[i]
    local k = kinds[i]
    if k == "U" then
      user = math.random(0, profiles - 1)
      buf[#buf + 1] = user
    elseif k == "V" then
      buf[#buf + 1] = user
    else
      ev = ev + 1
      buf[#buf + 1] = run .. "-" .. tid .. "-" .. n .. "-" .. ev
    end
  end
  buf[#buf + 1] = tail
  return wrk.format("POST", path, headers, table.concat(buf))
end

if limit > 0 then
  function response(status, hdrs, body)
    responses = responses + 1
    if responses == limit then
      -- wrk's main thread sleeps for the whole -d duration even when every thread has stopped: tell the harness,
      -- which then sends SIGINT (wrk prints its summary on SIGINT).
      local f = io.open(os.getenv("CHUDA_BENCH_DONE"), "a")
      if f then f:write("done\n"); f:close() end
      wrk.thread:stop()
    end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'CHUDA_WRK {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
