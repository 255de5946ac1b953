-- wrk script for every benchmark scenario; the scenario and its parameters come from the
-- environment (wrk passes no arguments to request()):
--   SCENARIO  S1 | S2 | S3 | S4 | S5 | F2 | F3 | LOGIN
--   TOKEN     access token (all but LOGIN)
--   ID_LO, ID_HI   the token's user's patient ids (S2, S5, F2, F3), inclusive
--   PAGES     number of patient pages of 20 (S3)
--   USERS     "email1 email2 ..." and PASSWORD (LOGIN)
-- done() prints one JSON line, prefixed "BENCH_JSON ", that the harness reads.

local scenario = os.getenv("SCENARIO") or "S1"
local token = os.getenv("TOKEN") or ""
local id_lo = tonumber(os.getenv("ID_LO") or "1")
local id_hi = tonumber(os.getenv("ID_HI") or "1")
local pages = tonumber(os.getenv("PAGES") or "1")
local password = os.getenv("PASSWORD") or ""
local emails = {}
for email in string.gmatch(os.getenv("USERS") or "", "%S+") do
  emails[#emails + 1] = email
end

local auth = { ["Authorization"] = "Bearer " .. token }
local json_auth = {
  ["Authorization"] = "Bearer " .. token,
  ["Content-Type"] = "application/json",
}
local json_only = { ["Content-Type"] = "application/json" }

local first = { "Ann", "Bob", "Chloe", "David", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jonas" }
local last = { "Lee", "Martin", "Okafor", "Silva", "Nguyen", "Kowalski", "Haddad", "Berg" }
local genders = { "M", "F", "O" }

local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_number", counter)
end

function init(args)
  math.randomseed(os.time() * 1000 + (thread_number or 0) * 7919)
end

function request()
  if scenario == "S1" then
    return wrk.format("GET", "/api/doctors/", auth)
  elseif scenario == "S2" then
    return wrk.format("GET", "/api/patients/" .. math.random(id_lo, id_hi) .. "/", auth)
  elseif scenario == "S3" then
    return wrk.format("GET", "/api/patients/?page=" .. math.random(1, pages), auth)
  elseif scenario == "S4" then
    local name = first[math.random(#first)] .. " " .. last[math.random(#last)]
    local body = string.format(
      '{"name": "%s", "age": %d, "gender": "%s", "phone": "+1555%07d", '
        .. '"email": "bench%d@example.org", "address": "12 Harbour Road, Springfield", '
        .. '"medical_history": "Seasonal allergies; no known drug allergies. Annual check-up."}',
      name, math.random(0, 99), genders[math.random(3)], math.random(0, 9999999),
      math.random(1, 1000000000))
    return wrk.format("POST", "/api/patients/", json_auth, body)
  elseif scenario == "F2" then
    return wrk.format("GET", "/fhir/R4/Patient/" .. math.random(id_lo, id_hi), auth)
  elseif scenario == "F3" then
    -- A page of 20 starting after a random patient (the position a `next` link carries),
    -- as S3 reads a random page.
    return wrk.format("GET", "/fhir/R4/Patient?_count=20&_page=a.i."
      .. math.random(id_lo - 1, math.max(id_lo - 1, id_hi - 20)), auth)
  elseif scenario == "S5" then
    return wrk.format("GET", "/api/mappings/" .. math.random(id_lo, id_hi) .. "/", auth)
  elseif scenario == "LOGIN" then
    local body = string.format('{"email": "%s", "password": "%s"}',
      emails[math.random(#emails)], password)
    return wrk.format("POST", "/api/auth/login/", json_only, body)
  end
  error("unknown SCENARIO " .. scenario)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, '
      .. '"p99_us": %d, "mean_us": %.1f, "max_us": %d, "non_2xx": %d, '
      .. '"socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, latency.max, e.status,
    e.connect + e.read + e.write + e.timeout))
end
