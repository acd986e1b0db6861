-- A mix of reads and token issues, as a site's visitors make them: cycles through the
-- paths in BENCH_PATHS (space-separated), one per request.
local paths, counter = {}, 0

init = function(args)
  for path in string.gmatch(os.getenv("BENCH_PATHS"), "%S+") do
    paths[#paths + 1] = path
  end
end

request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end
