-- One step of a pool divided fairly among its active callers, on Redis time
-- (see src/budget/gcra.rs: `fair_step`, whose arithmetic this mirrors line by line).
-- KEYS[1]  the pool's TAT
-- KEYS[2]  this caller's share TAT
-- KEYS[3]  the pool's active callers: a sorted set, caller -> last seen (microseconds)
-- ARGV[1]  the pool's emission interval, microseconds
-- ARGV[2]  the pool's burst
-- ARGV[3]  the caller's scope
-- ARGV[4]  the active window, microseconds
-- Admits at once or refuses; never reserves a future slot.
-- Returns {granted (1|0), 0 or retry_after in microseconds, active callers}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local window = tonumber(ARGV[4])
local function int(x) return string.format('%.0f', x) end

redis.call('ZADD', KEYS[3], int(now), ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. int(now - window))
redis.call('PEXPIRE', KEYS[3], int(math.ceil(window / 1000) + 1))
local active = redis.call('ZCARD', KEYS[3])

-- this caller's share: rate / active, burst / active (at least 1)
local share_interval = interval * active
local share_burst = math.max(1, math.floor(burst / active))

local pool_tat = tonumber(redis.call('GET', KEYS[1]) or now)
if pool_tat < now then pool_tat = now end
local caller_tat = tonumber(redis.call('GET', KEYS[2]) or now)
if caller_tat < now then caller_tat = now end

local new_pool = pool_tat + interval
local pool_ready = new_pool - interval * burst
local new_caller = caller_tat + share_interval
local caller_ready = new_caller - share_interval * share_burst
local ready = math.max(pool_ready, caller_ready)

local function store(key, tat)
  redis.call('SET', key, int(tat), 'PX', int(math.ceil((tat - now) / 1000) + 1))
end

if ready <= now then
  store(KEYS[1], new_pool)
  store(KEYS[2], new_caller)
  return {1, 0, active}
end

local retry_at = ready
if active >= 2 then
  -- over its share: borrow an idle slot only while half the pool's burst stays free
  local borrow_at = pool_ready + interval * math.ceil(burst / 2)
  if borrow_at <= now then
    store(KEYS[1], new_pool)
    return {1, 0, active}
  end
  retry_at = math.min(retry_at, borrow_at)
end
return {0, math.max(0, retry_at - now), active}
