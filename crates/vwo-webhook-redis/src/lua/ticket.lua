redis.call('HSETNX', KEYS[1], 'epoch', ARGV[1])
local ticket = redis.call('HINCRBY', KEYS[1], 'ticket', 1)
return {ticket, redis.call('HGET', KEYS[1], 'epoch')}
