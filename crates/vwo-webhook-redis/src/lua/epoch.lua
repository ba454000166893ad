-- The epoch this server's tickets belong to. A server that a failover promoted, or one
-- restarted empty, has another replication id and may have lost the last writes, so its
-- tickets could repeat ones already handed out: it starts a new epoch, in which no earlier
-- ticket or coverage counts. Prepended to the scripts that take KEYS[1] = the state hash.
local function current_epoch(new_epoch)
  local replid = string.match(redis.call('INFO', 'replication'), 'master_replid:(%w+)')
  local epoch = redis.call('HGET', KEYS[1], 'epoch')
  if epoch and redis.call('HGET', KEYS[1], 'replid') == replid then
    return epoch
  end
  redis.call('HSET', KEYS[1], 'epoch', new_epoch, 'replid', replid,
    'covered', 0, 'failed_ticket', 0, 'recorded_ticket', 0)
  return new_epoch
end
