-- wrk script of `npm run bench`: POSTs one fixed body with fixed headers, and prints one JSON line
-- of results when done (wrk's own text output is not meant for machines).
-- Arguments (after `--`): <body file> <headers file: "name: value" per line>
--   [<secrets file> <offset> <threads>]: each request then carries the next secret of the file as
--   `Authorization: Bearer <secret>`; thread k of n takes offset+k, offset+k+n, … so no two
--   requests of a run share one (until the file wraps around).

local counter = 0
function setup(thread)
  thread:set("thread_index", counter)
  counter = counter + 1
end

local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local secrets = nil
local next_index, stride = 0, 1
local fixed_request = nil

function init(args)
  wrk.method = "POST"
  wrk.body = read_file(args[1])
  for line in io.lines(args[2]) do
    local name, value = line:match("^([^:]+):%s*(.*)$")
    if name then wrk.headers[name] = value end
  end
  if args[3] ~= nil and args[3] ~= "" then
    secrets = {}
    for line in io.lines(args[3]) do
      if line ~= "" then secrets[#secrets + 1] = line end
    end
    stride = tonumber(args[5])
    next_index = tonumber(args[4]) + thread_index
  else
    fixed_request = wrk.format()
  end
end

-- wrk decides before init whether a script builds each request; it always does here, and a fixed
-- request is formatted once and returned as it is.
function request()
  if secrets == nil then return fixed_request end
  local secret = secrets[(next_index % #secrets) + 1]
  next_index = next_index + stride
  wrk.headers["Authorization"] = "Bearer " .. secret
  return wrk.format()
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"p999_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
