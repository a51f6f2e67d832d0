-- wrk script for bench/api_load.py: POST each line of a file (a transaction as hex) to /v1/tx
-- exactly once, over all of wrk's connections, and print the answers' statuses and the seconds
-- from the first request to the last answer as one JSON line; then stop. Run with one thread:
--   wrk -t1 -cN -d600s -s bench/wrk_post_tx.lua http://HOST:PORT -- BODIES_FILE
-- A connection with nothing left to post sends GET /v1/blocks/tip/height meanwhile (a POST is
-- answered with its txid, 64 characters, or a JSON error; that GET with a short number).
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } seedchain_timespec;
int clock_gettime(int clock, seedchain_timespec *ts);
]]
local CLOCK_MONOTONIC = 1
local clock = ffi.new("seedchain_timespec")
local function now()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) + tonumber(clock.tv_nsec) * 1e-9
end

local posts, total, sent, answered, statuses, started = {}, 0, 0, 0, {}, nil
local filler
local checked = false

function init(args)
  for line in io.lines(args[1]) do
    total = total + 1
    posts[total] = wrk.format("POST", "/v1/tx", {["Content-Type"] = "text/plain"}, line)
  end
  filler = wrk.format("GET", "/v1/blocks/tip/height")
end

function request()
  if not checked then  -- wrk calls request() once after init() to inspect it, and sends nothing
    checked = true
    return filler
  end
  if started == nil then started = now() end
  if sent < total then
    sent = sent + 1
    return posts[sent]
  end
  return filler
end

function response(status, headers, body)
  if status == 200 and #body ~= 64 then return end  -- the filler's answer
  answered = answered + 1
  statuses[status] = (statuses[status] or 0) + 1
  if answered == total then
    local parts = {}
    for code, count in pairs(statuses) do
      parts[#parts + 1] = string.format('"%d": %d', code, count)
    end
    io.write(string.format('{"seconds": %.6f, "statuses": {%s}}\n',
                           now() - started, table.concat(parts, ", ")))
    io.stdout:flush()
    wrk.thread:stop()
  end
end
