-- wrk script: POST /v1/flags:resolve, each request with the next secret of a file (one a line),
-- so that every request uses a different credential until the list wraps around.
--   SECRETS=/path/secrets.txt DELAY_MS=0 wrk -t2 -c16 -d30s -s bench/rotating-credentials.lua http://127.0.0.1:8080
local secrets = {}
for line in io.lines(os.getenv("SECRETS")) do secrets[#secrets + 1] = line end
local delay_ms = tonumber(os.getenv("DELAY_MS") or "0")
local counter = 0
local offset = 0

function setup(thread)
  -- Threads start at different places in the list, so that no two send the same secret at once.
  offset = offset + 1
  thread:set("start", offset * 7919)
end

function init(args)
  counter = start or 0
end

wrk.method = "POST"
wrk.body = '{"flags":[],"evaluationContext":{"targeting_key":"user-1"}}'
wrk.headers["Content-Type"] = "application/json"

function request()
  counter = counter + 1
  local secret = secrets[(counter % #secrets) + 1]
  return wrk.format(nil, "/v1/flags:resolve", { ["Authorization"] = "Bearer " .. secret })
end

function delay()
  return delay_ms
end
