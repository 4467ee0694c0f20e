-- DiskDB scripting runtime, loaded once into the Lua VM (chunk "=bootstrap").
-- Receives the bridge table from Rust; returns nothing. Rust has created the
-- `redis` and `cjson` tables; the rest of the `redis` library, the error
-- handler (errors become Redis's tables {err=..., source=..., line=...}) and
-- the read-only globals are built here.
local bridge = ...
local error, type, tostring, xpcall, find = error, type, tostring, xpcall, string.find

local function raw_error(msg)
  -- An error "as Redis raises it": an error table, no position prefix.
  error({err = msg})
end

-- redis.call, redis.pcall and redis.sha1hex are Rust functions (set by the
-- engine): being C functions, a `return redis.call(...)` tail call keeps the
-- user's frame, so errors can name the user's line as Redis does.
redis.error_reply = function(...)
  local e = ...
  if select('#', ...) ~= 1 or type(e) ~= 'string' then return {err = 'ERR wrong number or type of arguments'} end
  if e:sub(1, 1) == '-' then e = e:sub(2) end
  return {err = e}
end
redis.status_reply = function(...)
  local s = ...
  if select('#', ...) ~= 1 or type(s) ~= 'string' then return {err = 'ERR wrong number or type of arguments'} end
  return {ok = s}
end
redis.setresp = function(...)
  local v = ...
  if select('#', ...) ~= 1 then raw_error('ERR redis.setresp() requires one argument.') end
  if v ~= 2 and v ~= 3 then raw_error('ERR RESP version must be 2 or 3.') end
  bridge.setresp(v)
end
redis.log = function(level, ...)
  if select('#', ...) < 1 then raw_error('ERR redis.log() requires two arguments or more.') end
  if type(level) ~= 'number' then raw_error('ERR First argument must be a number (log level).') end
  if level < 0 or level > 3 then raw_error('ERR Invalid debug level.') end
  local parts = {}
  for i = 1, select('#', ...) do parts[i] = tostring((select(i, ...))) end
  bridge.log(level, table.concat(parts, ' '))
end
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.REDIS_VERSION, redis.REDIS_VERSION_NUM = '7.0.15', 0x07000f
redis.breakpoint = function() return false end
redis.debug = function() end
redis.replicate_commands = function() return true end
redis.set_repl = function() end
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3

-- Message handler: turns any error into Redis's error table and records where
-- in the user's code it happened (bridge.where skips C functions and this runtime).
function bridge.handler(err)
  -- An error raised by a Rust function (redis.call, cjson) left its table's
  -- text in the pending slot.
  local pending = bridge.take_pending()
  if pending and type(err) ~= 'table' and find(tostring(err), '__diskdb_pending_error__', 1, true) then
    err = {err = pending}
  elseif type(err) ~= 'table' then
    err = {err = 'ERR ' .. tostring(err)}
  end
  local source, line = bridge.where()
  if source then
    err.source = source
    err.line = line
  end
  return err
end

function bridge.run(f)
  return xpcall(f, bridge.handler)
end

-- Globals are read-only for scripts, and reading a missing one is an error
-- (Redis 7): scripts run in `env`, which reads through to the globals.
local G = _G
-- A script killed at the time limit must not go on by catching the error.
local pcall_, xpcall_ = pcall, xpcall
local function rethrow_if_killed(ok, ...)
  if not ok and bridge.killed() then error((...), 0) end
  return ok, ...
end
pcall = function(...) return rethrow_if_killed(pcall_(...)) end
xpcall = function(f, h) return rethrow_if_killed(xpcall_(f, h)) end
loadfile, dofile, print = nil, nil, nil
local function missing(_, k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end
local function readonly()
  error('Attempt to modify a readonly table', 2)
end
bridge.env = setmetatable({}, {__index = G, __newindex = readonly, __metatable = false})
setmetatable(G, {__index = missing, __newindex = readonly, __metatable = false})
