-- Set a flag that expires, never shortening one already set for longer.
-- KEYS[1]  the flag
-- ARGV[1]  time to live, milliseconds
-- Returns the flag's remaining time to live, milliseconds.
local ttl = tonumber(ARGV[1])
local current = redis.call('PTTL', KEYS[1])
if current < ttl then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
  return ttl
end
return current
