-- POST /api/v1/users with a real JPEG: every request uses its own token (from the file in
-- BENCH_TOKENS, one per line) and its own email and phone. Tokens are never reused: once
-- they run out, requests go without one and fail, and the run reports the failures.
local tokens = {}
local counter = 0

init = function(args)
  load_registration_inputs()
  for line in io.lines(os.getenv("BENCH_TOKENS")) do
    tokens[#tokens + 1] = line
  end
  nthreads = tonumber(os.getenv("BENCH_THREADS"))
  run = tonumber(os.getenv("BENCH_RUN"))
end

-- The number of this thread's current request, unique across threads.
local function number()
  return tid + (counter - 1) * nthreads
end

-- Unique across runs too (BENCH_RUN), or later runs would meet earlier runs' users: a
-- million numbers for each of 1,000 runs, all within the contract's nine digits (a bench
-- past 99 wrk runs gave ten digits, and every registration a 422).
local function phone(n)
  return string.format("+380%09d", (run % 1000) * 1000000 + n)
end

request = function()
  counter = counter + 1
  -- Past a seeded user's phone (that number's token goes unused).
  while taken_phones[phone(number())] do
    counter = counter + 1
  end
  local n = number()
  return registration_request(tokens[n + 1] or "exhausted", {
    name = "Bench User " .. n,
    email = string.format("bench-%d-%d@example.com", run, n),
    phone = phone(n),
    position_id = tostring(n % 4 + 1),
  })
end
