-- A GET with the bearer token. BENCH_PATH is the path (query included); if BENCH_IDS names a
-- file of incident ids, each request takes the next id instead (GET /api/v1/incidents/<id>).
local token = os.getenv("BENCH_TOKEN")
local headers = {}
if token and token ~= "" then
  headers["Authorization"] = "Bearer " .. token
end
local ids_file = os.getenv("BENCH_IDS")
local ids = {}
local next_index = 0

if not ids_file or ids_file == "" then
  wrk.method = "GET"
  wrk.path = os.getenv("BENCH_PATH") or "/"
  for k, v in pairs(headers) do wrk.headers[k] = v end
else
  function init(args)
    for line in io.lines(ids_file) do
      ids[#ids + 1] = line:match("^(%S+)")
    end
    next_index = (thread_id * 7919) % #ids -- threads start far apart in the pool
  end

  function request()
    next_index = next_index % #ids + 1
    return wrk.format("GET", "/api/v1/incidents/" .. ids[next_index], headers)
  end
end
