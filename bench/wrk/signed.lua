-- wrk script for nimbase: every request is a real signed server-API call (spec/auth.md):
-- CheckSum = sha1(AppSecret .. Nonce .. CurTime) computed per request with a unique Nonce, and
-- `{n}` in the body template replaced by a per-thread counter (unique accids for creates), `{m}` by
-- that counter modulo 1000 (round robin over seed0..seed999).
-- Arguments (after `--`): appKey appSecret path runId bodyTemplate
-- Written by bench/run.ts; results are printed as one JSON line prefixed with BENCH_JSON.
local bit = require("bit")
local band, bor, bxor, bnot, rol, rshift, tobit, tohex =
  bit.band, bit.bor, bit.bxor, bit.bnot, bit.rol, bit.rshift, bit.tobit, bit.tohex
local byte, char, rep, format, gsub = string.byte, string.char, string.rep, string.format, string.gsub

-- SHA-1 (FIPS 180-4) over a short string; LuaJIT's bit ops keep every word a signed 32-bit value.
local w = {}
local function sha1(msg)
  local h0, h1, h2, h3, h4 =
    tobit(0x67452301), tobit(0xEFCDAB89), tobit(0x98BADCFE), tobit(0x10325476), tobit(0xC3D2E1F0)
  local ml = #msg
  local bits = ml * 8
  msg = msg .. "\128" .. rep("\0", (55 - ml) % 64) .. "\0\0\0\0"
    .. char(band(rshift(bits, 24), 255), band(rshift(bits, 16), 255), band(rshift(bits, 8), 255), band(bits, 255))
  for chunk = 1, #msg, 64 do
    for i = 0, 15 do
      local a, b, c, d = byte(msg, chunk + i * 4, chunk + i * 4 + 3)
      w[i] = bor(bit.lshift(a, 24), bit.lshift(b, 16), bit.lshift(c, 8), d)
    end
    for i = 16, 79 do
      w[i] = rol(bxor(w[i - 3], w[i - 8], w[i - 14], w[i - 16]), 1)
    end
    local a, b, c, d, e = h0, h1, h2, h3, h4
    for i = 0, 79 do
      local f, k
      if i < 20 then
        f, k = bor(band(b, c), band(bnot(b), d)), 0x5A827999
      elseif i < 40 then
        f, k = bxor(b, c, d), 0x6ED9EBA1
      elseif i < 60 then
        f, k = bor(band(b, c), band(b, d), band(c, d)), 0x8F1BBCDC
      else
        f, k = bxor(b, c, d), 0xCA62C1D6
      end
      local t = tobit(rol(a, 5) + f + e + k + w[i])
      e, d, c, b, a = d, c, rol(b, 30), a, t
    end
    h0, h1, h2, h3, h4 = tobit(h0 + a), tobit(h1 + b), tobit(h2 + c), tobit(h3 + d), tobit(h4 + e)
  end
  return tohex(h0) .. tohex(h1) .. tohex(h2) .. tohex(h3) .. tohex(h4)
end

local threads = {}
local nextId = 0

function setup(thread)
  thread:set("threadId", nextId)
  nextId = nextId + 1
  table.insert(threads, thread)
end

local appKey, appSecret, path, runId, template
local counter = 0
codes = {}

function init(args)
  appKey, appSecret, path, runId, template = args[1], args[2], args[3], args[4], args[5]
  if args[6] == "selftest" then
    -- sha1("abc") from FIPS 180-2 appendix A
    assert(sha1("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d", "sha1 self-test failed")
  end
end

function request()
  counter = counter + 1
  local n = runId .. "t" .. threadId .. "n" .. counter
  local curTime = tostring(os.time())
  local body = gsub(gsub(template, "{n}", n), "{m}", tostring(counter % 1000))
  return wrk.format("POST", path, {
    ["AppKey"] = appKey,
    ["Nonce"] = n,
    ["CurTime"] = curTime,
    ["CheckSum"] = sha1(appSecret .. n .. curTime),
    ["Content-Type"] = "application/x-www-form-urlencoded;charset=utf-8",
  }, body)
end

function response(status, headers, body)
  local code = string.match(body, '"code":(%d+)') or ("http" .. status)
  codes[code] = (codes[code] or 0) + 1
end

function done(summary, latency, requests)
  local all = {}
  for _, t in ipairs(threads) do
    local c = t:get("codes")
    for k, v in pairs(c) do all[k] = (all[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(all) do table.insert(parts, format('"%s":%d', k, v)) end
  local e = summary.errors
  io.write(format(
    'BENCH_JSON{"requests":%d,"durationUs":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
      .. '"latencyUs":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f},"codes":{%s}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    table.concat(parts, ",")))
end
