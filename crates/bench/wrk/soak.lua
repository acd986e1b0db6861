-- The soak's traffic: visitors reading pages and registering. Each thread cycles through
-- ten requests: a token, a registration with a token an earlier answer gave (or another
-- read while none is at hand), then reads of BENCH_PATHS. Emails and phones are unique per
-- thread, request and run (BENCH_RUN), so every registration is a new user.
local paths, tokens = {}, {}
local counter = 0

init = function(args)
  load_registration_inputs()
  for path in string.gmatch(os.getenv("BENCH_PATHS"), "%S+") do
    paths[#paths + 1] = path
  end
  run = tonumber(os.getenv("BENCH_RUN"))
end

-- Up to 100 threads and 10^6 requests per thread and run stay within 9 phone digits.
local function phone()
  return string.format("+380%09d", (run % 10) * 100000000 + tid * 1000000 + counter)
end

local function registration(token)
  -- Past a seeded user's phone; the counter only grows, so phone and email stay unique.
  while taken_phones[phone()] do
    counter = counter + 1
  end
  return registration_request(token, {
    name = "Soak User",
    email = string.format("soak-%d-%d-%d@example.com", run, tid, counter),
    phone = phone(),
    position_id = tostring(counter % 4 + 1),
  })
end

request = function()
  counter = counter + 1
  local step = counter % 10
  if step == 0 then
    return wrk.format("GET", "/api/v1/token")
  end
  if step == 1 and #tokens > 0 then
    return registration(table.remove(tokens))
  end
  return wrk.format("GET", paths[(counter % #paths) + 1])
end

response = function(status, headers, body)
  local token = string.match(body, '"token":"([%w_%-]+)"')
  if token then
    tokens[#tokens + 1] = token
  end
end
