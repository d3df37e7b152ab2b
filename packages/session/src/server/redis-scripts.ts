/**
 * Keys and Lua scripts of the Redis store, in one place. Per session: a hash (the record), a
 * sorted set (replay frames scored by seq) and, once expired, a tombstone. Shared: a sorted set
 * of deadlines (`due`) and the channel on which claims and expiries are announced.
 * Not cluster-ready: the scripts touch a session's keys and the shared `due` set together.
 */
export function redisKeys(prefix: string) {
  return {
    session: (id: string) => `${prefix}s:${id}`,
    replay: (id: string) => `${prefix}r:${id}`,
    tombstone: (id: string) => `${prefix}x:${id}`,
    due: `${prefix}due`,
    channel: `${prefix}taken`,
  };
}

/** The tombstone of an expired session: its token hashes and last state, for ttl ms. */
const BURY = `
local function bury(key, tokenHash, prevTokenHash, state, ttl)
  redis.call('DEL', key)
  redis.call('HSET', key, 'tokenHash', tokenHash or '', 'prevTokenHash', prevTokenHash or '',
    'state', state or 'null')
  redis.call('PEXPIRE', key, ttl)
end
`;

/**
 * KEYS[1] session hash, KEYS[2] replay zset, KEYS[3] due zset, KEYS[4] tombstone
 * ARGV[1] id, ARGV[2] presented token hash, ARGV[3] next token hash, ARGV[4] owner,
 * ARGV[5] now, ARGV[6] channel, ARGV[7] key ttl (ms)
 * → {'ok', HGETALL, ZRANGE WITHSCORES} | {'expired', state?} | {'unknown'} | {'bad-token'}
 * The tombstone is a hash of the expired session's token hashes and last state; the state goes
 * only to a hello with one of those tokens.
 */
export const CLAIM = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  if redis.call('EXISTS', KEYS[4]) == 1 then
    local grave = redis.call('HMGET', KEYS[4], 'tokenHash', 'prevTokenHash', 'state')
    if ARGV[2] == grave[1] or ARGV[2] == grave[2] then return {'expired', grave[3]} end
    return {'expired'}
  end
  return {'unknown'}
end
local current = redis.call('HGET', KEYS[1], 'tokenHash')
local previous = redis.call('HGET', KEYS[1], 'prevTokenHash')
if ARGV[2] ~= current and ARGV[2] ~= previous then return {'bad-token'} end
local now = tonumber(ARGV[5])
local due = redis.call('ZSCORE', KEYS[3], ARGV[1])
if due and tonumber(due) <= now then return {'expired', redis.call('HGET', KEYS[1], 'state')} end
local epoch = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
redis.call('HSET', KEYS[1], 'prevTokenHash', ARGV[2], 'tokenHash', ARGV[3], 'owner', ARGV[4],
  'detachedAt', '0')
local window = tonumber(redis.call('HGET', KEYS[1], 'resumeWindowMs'))
redis.call('ZADD', KEYS[3], now + window, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
redis.call('PEXPIRE', KEYS[2], ARGV[7])
redis.call('PUBLISH', ARGV[6], ARGV[1] .. ' ' .. epoch .. ' ' .. ARGV[4])
return {'ok', redis.call('HGETALL', KEYS[1]), redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')}
`;

/**
 * KEYS[1] session hash, KEYS[2] replay zset, KEYS[3] due zset
 * ARGV[1] id, ARGV[2] epoch, ARGV[3] now, ARGV[4] key ttl, ARGV[5] '1' if state follows,
 * ARGV[6] state, ARGV[7] inSeq, ARGV[8] outSeq, ARGV[9] trimThrough, ARGV[10] detachedAt
 * ('' = unchanged), ARGV[11..] seq, frame pairs to append
 * → 1, or 0 when the epoch moved on (another holder)
 */
export const COMMIT = `
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[2] then return 0 end
if ARGV[5] == '1' then redis.call('HSET', KEYS[1], 'state', ARGV[6]) end
if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'inSeq', ARGV[7]) end
if ARGV[8] ~= '' then redis.call('HSET', KEYS[1], 'outSeq', ARGV[8]) end
for i = 11, #ARGV, 2 do redis.call('ZADD', KEYS[2], ARGV[i], ARGV[i + 1]) end
if ARGV[9] ~= '' then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[9]) end
if ARGV[10] ~= '' then
  redis.call('HSET', KEYS[1], 'detachedAt', ARGV[10])
  local window = tonumber(redis.call('HGET', KEYS[1], 'resumeWindowMs'))
  local from = tonumber(ARGV[10])
  if from == 0 then from = tonumber(ARGV[3]) end
  redis.call('ZADD', KEYS[3], from + window, ARGV[1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 1
`;

/**
 * KEYS[1] session hash, KEYS[2] replay zset, KEYS[3] due zset
 * ARGV[1] id, ARGV[2] epoch, ARGV[3] now, ARGV[4] key ttl
 * → 1 if the attached session's deadline moved, 0 if it is detached or held by someone else
 */
export const TOUCH = `
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[2] then return 0 end
if redis.call('HGET', KEYS[1], 'detachedAt') ~= '0' then return 0 end
local window = tonumber(redis.call('HGET', KEYS[1], 'resumeWindowMs'))
redis.call('ZADD', KEYS[3], tonumber(ARGV[3]) + window, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 1
`;

/**
 * KEYS[1] due zset
 * ARGV[1] now, ARGV[2] owner, ARGV[3] orphan grace (ms), ARGV[4] limit, ARGV[5] key prefix,
 * ARGV[6] tombstone ttl, ARGV[7] channel
 * → flat {id, state, …} of the sessions removed; each is returned to exactly one caller.
 * Builds session keys from the prefix (as redisKeys does): the ids are only known inside.
 */
export const REAP = `${BURY}
local now = tonumber(ARGV[1])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))
local out = {}
for _, id in ipairs(ids) do
  local hash = ARGV[5] .. 's:' .. id
  local due = tonumber(redis.call('ZSCORE', KEYS[1], id))
  local owner = redis.call('HGET', hash, 'owner')
  if owner == ARGV[2] or not owner or due + tonumber(ARGV[3]) <= now then
    local f = redis.call('HMGET', hash, 'state', 'tokenHash', 'prevTokenHash')
    local state = f[1]
    redis.call('ZREM', KEYS[1], id)
    redis.call('DEL', hash, ARGV[5] .. 'r:' .. id)
    bury(ARGV[5] .. 'x:' .. id, f[2], f[3], state, ARGV[6])
    redis.call('PUBLISH', ARGV[7], id .. ' -1 ')
    if state then
      table.insert(out, id)
      table.insert(out, state)
    end
  end
end
return out
`;

/**
 * KEYS[1] session hash, KEYS[2] replay zset, KEYS[3] due zset, KEYS[4] tombstone
 * ARGV[1] id, ARGV[2] epoch, ARGV[3] tombstone ttl, ARGV[4] channel
 * → the state, or nil when the epoch moved on
 */
export const REMOVE = `${BURY}
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[2] then return false end
local f = redis.call('HMGET', KEYS[1], 'state', 'tokenHash', 'prevTokenHash')
local state = f[1]
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
bury(KEYS[4], f[2], f[3], state, ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[1] .. ' -1 ')
return state
`;
