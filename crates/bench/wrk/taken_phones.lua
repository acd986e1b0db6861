-- Put before every benchmark script. The seeder draws its users' phones at random from the
-- whole +380 range, so a phone a script makes up can be one a seeded user already has; the
-- app rightly answers 409, and the run would count the data's clash as the app's error.
-- Scripts that register skip the phones in BENCH_TAKEN_PHONES (one per line).
taken_phones = {}

function load_taken_phones()
  for line in io.lines(os.getenv("BENCH_TAKEN_PHONES")) do
    taken_phones[line] = true
  end
end
