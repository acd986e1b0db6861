-- POST /api/v1/users with a real JPEG: every request uses its own token (from the file in
-- BENCH_TOKENS, one per line) and its own email and phone. Tokens are never reused: once
-- they run out, requests go without one and fail, and the run reports the failures.
local boundary = "usersbypage-bench-boundary"
local photo, tokens = nil, {}
local threads, counter = 0, 0

setup = function(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

init = function(args)
  local f = assert(io.open(os.getenv("BENCH_PHOTO"), "rb"))
  photo = f:read("*all")
  f:close()
  for line in io.lines(os.getenv("BENCH_TOKENS")) do
    tokens[#tokens + 1] = line
  end
  nthreads = tonumber(os.getenv("BENCH_THREADS"))
  run = tonumber(os.getenv("BENCH_RUN"))
  load_taken_phones()
end

local function part(name, value)
  return "--" .. boundary .. '\r\nContent-Disposition: form-data; name="' .. name .. '"\r\n\r\n'
    .. value .. "\r\n"
end

-- The number of this thread's current request, unique across threads.
local function number()
  return tid + (counter - 1) * nthreads
end

-- Unique across runs too (BENCH_RUN), or later runs would meet earlier runs' users.
local function phone(n)
  return string.format("+380%09d", run * 10000000 + n)
end

request = function()
  counter = counter + 1
  -- Past a seeded user's phone (that number's token goes unused).
  while taken_phones[phone(number())] do
    counter = counter + 1
  end
  local n = number()
  local token = tokens[n + 1] or "exhausted" 
  local body = part("name", "Bench User " .. n)
    .. part("email", string.format("bench-%d-%d@example.com", run, n))
    .. part("phone", phone(n))
    .. part("position_id", tostring(n % 4 + 1))
    .. "--" .. boundary .. '\r\nContent-Disposition: form-data; name="photo"; filename="photo.jpg"\r\n'
    .. "Content-Type: image/jpeg\r\n\r\n" .. photo .. "\r\n--" .. boundary .. "--\r\n"
  return wrk.format("POST", "/api/v1/users", {
    ["Token"] = token,
    ["Content-Type"] = "multipart/form-data; boundary=" .. boundary,
  }, body)
end
