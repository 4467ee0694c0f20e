-- DiskDB scripting runtime, loaded once into the Lua VM (chunk "=bootstrap").
-- Receives the bridge table from Rust; returns nothing. Rust has created the
-- `redis` and `cjson` tables; the rest of the `redis` library, the error
-- handler (errors become Redis's tables {err=..., source=..., line=...}) and
-- the read-only globals are built here.
local bridge = ...
local error, type, tostring, xpcall, find, rawset = error, type, tostring, xpcall, string.find, rawset
local rawget, select = rawget, select
local redis = redis

local function raw_error(msg)
  -- An error "as Redis raises it": an error table, no position prefix.
  error({err = msg})
end

-- redis.call and redis.sha1hex are Rust functions (set by the engine):
-- being C functions, a `return redis.call(...)` tail call keeps the
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

-- The error a Rust function raised (redis.call, cjson...) is in the pending
-- slot: as Redis's C function raised it, an error table or a plain string.
function bridge.caught(err)
  if type(err) ~= 'table' and find(tostring(err), '__diskdb_pending_error__', 1, true) then
    local text, plain = bridge.take_pending()
    if text then
      if plain then return text end
      return {err = text}
    end
  end
  return err
end

-- Message handler: turns any error into Redis's error table and records where
-- in the user's code it happened (bridge.where skips C functions and this runtime).
function bridge.handler(err)
  err = bridge.caught(err)
  if type(err) ~= 'table' then
    err = {err = 'ERR ' .. tostring(err)}
  end
  local source, line = bridge.where()
  if source then
    err.source = source
    err.line = line
  end
  return err
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
-- Like Redis's pcall, an error table is caught as its `err` text.
local function error_text(ok, ...)
  if ok then return ok, ... end
  local e = bridge.caught((...))
  if type(e) == 'table' and type(e.err) == 'string' then e = e.err end
  return false, e
end
pcall = function(...) return error_text(rethrow_if_killed(pcall_(...))) end
-- (`xpcall` is a local here: the global is set by name.) The handler gets
-- what Redis's would: the error table of a failed redis.call, a library's
-- error string.
G.xpcall = function(f, h) return rethrow_if_killed(xpcall_(f, function(e) return h(bridge.caught(e)) end)) end
loadfile, dofile, print = nil, nil, nil
local function missing(_, k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end
local function readonly()
  error('Attempt to modify a readonly table', 2)
end
-- Set while the runtime installs a run's KEYS and ARGV: stored plainly (no
-- C call), they reach __newindex only when absent (removed by a function
-- run, or by a script's rawset).
local installing = false
local function readonly_globals(t, k, v)
  if installing then return rawset(t, k, v) end
  error('Attempt to modify a readonly table', 2)
end
bridge.env = setmetatable({}, {__index = G, __newindex = readonly, __metatable = false})
setmetatable(G, {__index = missing, __newindex = readonly_globals, __metatable = false})
-- Scripts see `_G` as a read-only view of the globals: a metatable guards
-- only absent keys, so `_G.redis = nil` on the real table would succeed and
-- break every later script (Redis refuses it).
rawset(G, '_G', setmetatable({}, {__index = G, __newindex = readonly, __metatable = false}))

-- FUNCTION libraries (Redis 7.0). A library's code runs once, at FUNCTION
-- LOAD, in `fenv` while `loading` is set: it then sees only the library API
-- (`redis.register_function`, `redis.log` and the constants), like Redis's
-- load-time globals. Its functions later run in the same `fenv`, which then
-- reads through to the full globals.
local loading, registered = false, nil
local function missing_here(k)
  -- Level 3: the code that indexed (this helper and the __index function are below it).
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 3)
end
local flag_names = {'no-writes', 'allow-oom', 'allow-stale', 'no-cluster', 'allow-cross-slot-keys'}
local function valid_name(n)
  return find(n, '^[%w_]+$') ~= nil
end
local function read_flags(t)
  local out, j = {}, 1
  while true do
    local f = t[j]
    if f == nil then return out end
    if type(f) ~= 'string' and type(f) ~= 'number' then return nil end
    local known = false
    for _, name in ipairs(flag_names) do
      if name == string.lower(tostring(f)) then out[#out + 1] = name; known = true; break end
    end
    if not known then return nil end
    j = j + 1
  end
end
local function is_stringy(v) return type(v) == 'string' or type(v) == 'number' end
local function register_function(...)
  local n = select('#', ...)
  if n < 1 or n > 2 then raw_error('ERR wrong number of arguments to redis.register_function') end
  local name, callback, flags, desc = nil, nil, {}, nil
  if n == 1 then
    local t = ...
    if type(t) ~= 'table' then
      raw_error('ERR calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).')
    end
    for k, v in pairs(t) do
      if not is_stringy(k) then raw_error('ERR named argument key given to redis.register_function is not a string') end
      local key = string.lower(tostring(k))
      if key == 'function_name' then
        if not is_stringy(v) then raw_error('ERR function_name argument given to redis.register_function must be a string') end
        name = tostring(v)
      elseif key == 'description' then
        if not is_stringy(v) then raw_error('ERR description argument given to redis.register_function must be a string') end
        desc = tostring(v)
      elseif key == 'callback' then
        if type(v) ~= 'function' then raw_error('ERR callback argument given to redis.register_function must be a function') end
        callback = v
      elseif key == 'flags' then
        if type(v) ~= 'table' then raw_error('ERR flags argument to redis.register_function must be a table representing function flags') end
        flags = read_flags(v)
        if not flags then raw_error('ERR unknown flag given') end
      else
        raw_error('ERR unknown argument given to redis.register_function')
      end
    end
    if name == nil then raw_error('ERR redis.register_function must get a function name argument') end
    if callback == nil then raw_error('ERR redis.register_function must get a callback argument') end
  else
    local a, b = ...
    if not is_stringy(a) then raw_error('ERR first argument to redis.register_function must be a string') end
    if type(b) ~= 'function' then raw_error('ERR second argument to redis.register_function must be a function') end
    name, callback = tostring(a), b
  end
  if not valid_name(name) then
    -- (Redis 7.0 says "Library names" here too.)
    raw_error('ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long')
  end
  for _, f in ipairs(registered) do
    if f.name == name then raw_error('ERR Function already exists in the library') end
  end
  registered[#registered + 1] = {name = name, callback = callback, flags = flags, description = desc}
end
local lib_redis = {
  register_function = register_function, log = redis.log,
  LOG_DEBUG = redis.LOG_DEBUG, LOG_VERBOSE = redis.LOG_VERBOSE, LOG_NOTICE = redis.LOG_NOTICE,
  LOG_WARNING = redis.LOG_WARNING, REDIS_VERSION = redis.REDIS_VERSION, REDIS_VERSION_NUM = redis.REDIS_VERSION_NUM,
}
setmetatable(lib_redis, {__index = function(_, k) missing_here(k) end, __newindex = readonly, __metatable = false})
local lib_api = {redis = lib_redis}
bridge.fenv = setmetatable({}, {
  __index = function(_, k)
    local v
    if loading then v = lib_api[k] else v = rawget(G, k) end
    if v == nil then missing_here(k) end
    return v
  end,
  __newindex = readonly,
  __metatable = false,
})

-- Runs a library's compiled chunk; returns ok, and the registered functions
-- or the error table.
function bridge.load_library(chunk)
  loading, registered = true, {}
  local ok, err = xpcall(chunk, bridge.handler)
  local got = registered
  loading, registered = false, nil
  if not ok then return false, err end
  return true, got
end

-- A run: the engine passes the run's KEYS and ARGV, installed here in one
-- call into Lua rather than one per table write. They are left in place
-- after the run (the next run replaces them; a function run removes KEYS and
-- ARGV): clearing them cost a fifth of the runtime's share of a short EVALSHA.
-- redis.call is the engine's, made once; each run puts it back, as the
-- library tables are not read-only (a script may have replaced it).
local call = redis.call

-- redis.pcall: what redis.call would raise, returned (an error table). Set
-- once: it calls whatever redis.call is.
local function returned(ok, ...)
  if ok then return ... end
  return bridge.caught((...))
end
rawset(redis, 'pcall', function(...)
  return returned(pcall_(redis.call, ...))
end)

-- A run's KEYS and ARGV: the first `keys` of the other arguments and the
-- rest. (They are strings, so `#all` counts them: no C call but `select`.)
local function split(keys, ...)
  local all, rest = {...}, {select(keys + 1, ...)}
  for i = #all, keys + 1, -1 do
    all[i] = nil
  end
  return all, rest
end

local handler = bridge.handler

-- Runs a script with its KEYS and ARGV globals: given as tables the engine
-- made, or `keys` a count and the arguments after `argv` (nil).
function bridge.run(f, keys, argv, ...)
  if argv == nil then keys, argv = split(keys, ...) end
  redis.call = call
  installing = true
  G.KEYS, G.ARGV = keys, argv
  installing = false
  return xpcall_(f, handler)
end

-- Calls a function's callback with its keys and arguments tables (functions
-- see no KEYS / ARGV globals, as in Redis).
function bridge.run_function(f, keys, argv, ...)
  if argv == nil then keys, argv = split(keys, ...) end
  redis.call = call
  installing = true
  G.KEYS, G.ARGV = nil, nil
  installing = false
  return xpcall_(function() return f(keys, argv) end, handler)
end
