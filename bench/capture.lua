-- wrk script: POST signed ~1 KiB JSON webhooks, cycling through pre-signed bodies.
-- Usage: wrk ... -s capture.lua <base url> -- <bodies file> <signature header> [<paths file> [<delay ms>]]
-- The bodies file has one "<hex signature>\t<json body>" per line (unique event ids),
-- written by bench/common.py; the optional paths file one URL path per line, used in
-- turn (several endpoints); a delay makes each connection pause between requests
-- (a paced background load). Each wrk thread starts at its own offset.
local bodies, sigs, paths = {}, {}, {}
local header, pause = "X-Protocol-Signature", 0
local counter = 1
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  header = args[2] or header
  for line in io.lines(args[1]) do
    local tab = line:find("\t", 1, true)
    table.insert(sigs, line:sub(1, tab - 1))
    table.insert(bodies, line:sub(tab + 1))
  end
  if args[3] and args[3] ~= "-" then
    for line in io.lines(args[3]) do table.insert(paths, line) end
  end
  pause = tonumber(args[4] or "0")
  if pause > 0 then
    delay = function() return pause end  -- only a paced load pays for the timer
  end
  counter = 1 + (tid or 0) * math.floor(#bodies / 4)
end

function request()
  local i = (counter - 1) % #bodies + 1
  counter = counter + 1
  local headers = {["Content-Type"] = "application/json"}
  headers[header] = sigs[i]
  local path = nil
  if #paths > 0 then path = paths[(counter - 1) % #paths + 1] end
  return wrk.format("POST", path, headers, bodies[i])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_JSON {\"requests\": %d, \"duration_us\": %d, \"connect\": %d, \"read\": %d, " ..
    "\"write\": %d, \"status\": %d, \"timeout\": %d, \"p50_us\": %d, \"p99_us\": %d, " ..
    "\"max_us\": %d}\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
