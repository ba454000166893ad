local epoch = current_epoch(ARGV[6])
local covered = tonumber(ARGV[2])
if epoch ~= ARGV[1] then
  -- The fetch began in an earlier epoch (Redis lost its data, or a failover promoted
  -- another server): it covers no ticket of this one. Keep a new document if there is none.
  if ARGV[3] ~= 'new' or redis.call('HEXISTS', KEYS[1], 'revision') == 1 then
    return {2, tonumber(redis.call('HGET', KEYS[1], 'revision') or '0')}
  end
  covered = 0
end
local stored = tonumber(redis.call('HGET', KEYS[1], 'covered') or '0')
local failed = tonumber(redis.call('HGET', KEYS[1], 'failed_ticket') or '0')
if covered > 0 and (covered <= stored or (ARGV[3] == 'failed' and covered <= failed)) then
  return {0, tonumber(redis.call('HGET', KEYS[1], 'revision') or '0')}
end
if ARGV[3] == 'new' then
  redis.call('HINCRBY', KEYS[1], 'revision', 1)
  redis.call('HSET', KEYS[1], 'covered', covered, 'raw', ARGV[7], 'etag', ARGV[8],
    'check', ARGV[9], 'fetched_ms', ARGV[10], 'checked_ms', ARGV[5])
elseif ARGV[3] == 'unchanged' then
  if redis.call('HGET', KEYS[1], 'etag') ~= ARGV[7] then
    return {0, tonumber(redis.call('HGET', KEYS[1], 'revision') or '0')}
  end
  redis.call('HSET', KEYS[1], 'covered', covered, 'checked_ms', ARGV[5])
else
  redis.call('HSET', KEYS[1], 'failed_ticket', covered, 'failed_kind', ARGV[7],
    'failed_message', ARGV[8], 'failed_retry_ms', ARGV[9])
end
redis.call('HSET', KEYS[1], 'recorded_ms', ARGV[5],
  'recorded_ticket', redis.call('HGET', KEYS[1], 'ticket') or '0')
local revision = tonumber(redis.call('HGET', KEYS[1], 'revision') or '0')
redis.call('PUBLISH', ARGV[4], epoch .. ':' .. revision .. ':' .. ARGV[3])
return {1, revision}
