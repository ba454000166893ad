local epoch = current_epoch(ARGV[1])
local ticket = redis.call('HINCRBY', KEYS[1], 'ticket', 1)
return {ticket, epoch}
