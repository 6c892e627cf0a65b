-- One step of a plain GCRA bucket, on Redis time (see src/budget/gcra.rs: `step`).
-- KEYS[1]  the bucket's TAT (microseconds since the epoch)
-- ARGV[1]  emission interval, microseconds
-- ARGV[2]  burst
-- ARGV[3]  longest wait a granted step may reserve, microseconds
-- Returns {granted (1|0), wait or retry_after in microseconds}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])

local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local wait = new_tat - interval * burst - now
if wait < 0 then wait = 0 end
if wait <= max_wait then
  -- kept until the bucket is full again; an expired key is a full bucket
  redis.call('SET', KEYS[1], string.format('%.0f', new_tat),
    'PX', string.format('%.0f', math.ceil((new_tat - now) / 1000) + 1))
  return {1, wait}
end
return {0, wait}
