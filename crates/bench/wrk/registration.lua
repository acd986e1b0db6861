-- Put before every benchmark script: what the scripts that register share. It numbers
-- wrk's threads (`tid`), and builds a registration as a browser's form would send it.
--
-- The seeder draws its users' phones at random from the whole +380 range, so a phone a
-- script makes up can be one a seeded user already has; the app rightly answers 409, and
-- the run would count the data's clash as the app's error. `load_registration_inputs`
-- reads the phones the app's users have (BENCH_TAKEN_PHONES, one per line) into
-- `taken_phones`, for the scripts to skip, and the photo to upload (BENCH_PHOTO).
local boundary = "usersbypage-bench-boundary"
local photo = nil
local threads = 0
taken_phones = {}

setup = function(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

function load_registration_inputs()
  local f = assert(io.open(os.getenv("BENCH_PHOTO"), "rb"))
  photo = f:read("*all")
  f:close()
  for line in io.lines(os.getenv("BENCH_TAKEN_PHONES")) do
    taken_phones[line] = true
  end
end

local function part(name, value)
  return "--" .. boundary .. '\r\nContent-Disposition: form-data; name="' .. name .. '"\r\n\r\n'
    .. value .. "\r\n"
end

-- POST /api/v1/users with `token` and the form's text fields (name, email, phone,
-- position_id), the photo last.
function registration_request(token, fields)
  local body = part("name", fields.name)
    .. part("email", fields.email)
    .. part("phone", fields.phone)
    .. part("position_id", fields.position_id)
    .. "--" .. boundary .. '\r\nContent-Disposition: form-data; name="photo"; filename="photo.jpg"\r\n'
    .. "Content-Type: image/jpeg\r\n\r\n" .. photo .. "\r\n--" .. boundary .. "--\r\n"
  return wrk.format("POST", "/api/v1/users", {
    ["Token"] = token,
    ["Content-Type"] = "multipart/form-data; boundary=" .. boundary,
  }, body)
end
