-- PATCH /api/v1/incidents/<id>: toggles a pool of incidents between in_progress and resolved,
-- which is a valid transition both ways, so every request should record one StatusChanged.
--
-- BENCH_IDS: one "<id> <status> <version>" line per pool incident. Each wrk thread takes its
-- own slice of the pool (line index modulo thread count) and walks it round-robin, so one
-- incident is revisited only after a whole slice of other requests. The script keeps what it
-- believes each incident's status and version to be and corrects itself from each 200 body:
--   extra.transitions  200 with a higher version (a StatusChanged was recorded)
--   extra.noops        200 with the same version (the incident already had that status)
--   409s and other non-2xx are in the status counts.
local token = os.getenv("BENCH_TOKEN")
local threads = tonumber(os.getenv("BENCH_THREADS") or "1")
local headers = {
  ["Authorization"] = "Bearer " .. token,
  ["Content-Type"] = "application/json",
}
local ids, state = {}, {}
local next_index = 0

function init(args)
  local i = 0
  for line in io.lines(os.getenv("BENCH_IDS")) do
    local id, status, version = line:match("^(%S+)%s+(%S+)%s+(%d+)")
    if id and i % threads == thread_id then
      ids[#ids + 1] = id
      state[id] = { status = status, version = tonumber(version) }
    end
    i = i + 1
  end
end

function request()
  next_index = next_index % #ids + 1
  local id = ids[next_index]
  local s = state[id]
  local to = (s.status == "in_progress") and "resolved" or "in_progress"
  s.status = to -- assume it works; the response corrects this
  return wrk.format("PATCH", "/api/v1/incidents/" .. id, headers, '{"status":"' .. to .. '"}')
end

function response(status, headers, body)
  count_status(status)
  if status ~= 200 then
    return
  end
  local id = body:match('"id":"([^"]+)"')
  local s = id and state[id]
  if not s then
    bump("unparsed")
    return
  end
  local version = tonumber(body:match('"version":(%d+)'))
  if version and version > s.version then
    bump("transitions")
  else
    bump("noops")
  end
  s.version = version or s.version
  s.status = body:match('"status":"([^"]+)"') or s.status
end
