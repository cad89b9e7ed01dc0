-- One request against one user's bucket, decided inside Redis exactly as
-- BucketConfig.take decides it in limiter/bucket.py: refill, decide, store, expire.
--
-- KEYS[1]  the user's hash: t = time of the latest request (ns), u = units held
--          after it, s = the bucket's shape ("capacity/refill_rate").
-- ARGV     now (ns; "" reads the server's clock), shape, unit, full, gain (units
--          per ns), expire ("1": the key expires once the bucket is full again).
--          Every integer is decimal text without leading zeros.
-- Returns  {1 if allowed else 0, units left, the time used (ns)}.
--
-- Lua in Redis counts in doubles, exact only up to 2^53 (about 9.007e15); times in
-- ns reach 1.8e18 and units can run to hundreds of digits. So integers travel as
-- decimal text, and each request takes one of two roads, both exact:
--
-- - small buckets (the usual ones: see "Small buckets" below) are decided in plain
--   numbers, arranged so that no value formed reaches 2 * 10^15;
-- - any other is decided on little-endian arrays of limbs in base 10^7. A limb is
--   at most 10^7 - 1, so the largest value any step forms, a product of two limbs
--   plus a limb plus a carry, is at most (10^7 - 1) * (10^7 + 1) < 10^14, nearly a
--   hundred times below 2^53.

local BASE = 10000000 -- 10^7: seven decimal digits a limb
local DIGITS = 7
-- Looked up once: every global or field read costs a table look-up per use.
local call, sub, format, concat = redis.call, string.sub, string.format, table.concat
local floor, ceil = math.floor, math.ceil

local function trim(n) -- drop leading zero limbs; zero keeps one limb
  local top = #n
  while top > 1 and n[top] == 0 do
    n[top] = nil
    top = top - 1
  end
  return n
end

local function big(text) -- decimal text to limbs, seven digits at a time from the right
  local n, count, stop = {}, 0, #text
  while stop > DIGITS do
    count = count + 1
    n[count] = tonumber(sub(text, stop - DIGITS + 1, stop))
    stop = stop - DIGITS
  end
  n[count + 1] = tonumber(sub(text, 1, stop)) or 0 -- "" is 0
  return trim(n)
end

local function text(n) -- limbs to decimal text
  local top = #n
  if top == 1 then
    return format("%d", n[1])
  end
  local parts = { format("%d", n[top]) }
  for i = top - 1, 1, -1 do
    parts[top - i + 1] = format("%07d", n[i])
  end
  return concat(parts)
end

local function compare(a, b) -- -1, 0 or 1 as a <, = or > b (both trimmed)
  if #a ~= #b then
    return #a < #b and -1 or 1
  end
  for i = #a, 1, -1 do
    if a[i] ~= b[i] then
      return a[i] < b[i] and -1 or 1
    end
  end
  return 0
end

local function add(a, b)
  local sum, carry = {}, 0
  local length = #a > #b and #a or #b
  for i = 1, length do
    local limb = (a[i] or 0) + (b[i] or 0) + carry
    if limb >= BASE then
      sum[i], carry = limb - BASE, 1
    else
      sum[i], carry = limb, 0
    end
  end
  if carry > 0 then
    sum[length + 1] = carry
  end
  return sum
end

local function subtract(a, b) -- a - b, for a >= b
  local difference, borrow = {}, 0
  for i = 1, #a do
    local limb = a[i] - (b[i] or 0) - borrow
    if limb < 0 then
      difference[i], borrow = limb + BASE, 1
    else
      difference[i], borrow = limb, 0
    end
  end
  return trim(difference)
end

local function multiply(a, b) -- schoolbook
  local product, na, nb = {}, #a, #b
  for i = 1, na + nb do
    product[i] = 0
  end
  for i = 1, na do
    local carry, digit = 0, a[i]
    for j = 1, nb do
      local limb = product[i + j - 1] + digit * b[j] + carry
      -- limb < 2^53 is exact, and limb / BASE sits at least 10^-7 below the next
      -- integer, far more than a double's error there: the floor is exact too.
      carry = floor(limb / BASE)
      product[i + j - 1] = limb - carry * BASE
    end
    product[i + nb] = carry
  end
  return trim(product)
end

local function approximate(n) -- a double m and a count e: n = m * BASE^e, within 1e-14
  local top = #n
  local m = n[top]
  for i = top - 1, top > 3 and top - 2 or 1, -1 do
    m = m * BASE + n[i]
  end
  return m, top > 3 and top - 3 or 0
end

-- Small buckets --------------------------------------------------------------------
-- Most configurations give buckets whose unit, full and gain have at most 15 digits,
-- with times of at most 24 digits (15 of seconds, 9 of nanoseconds). Such a request is
-- decided in plain numbers, none of which ever reaches 2 * 10^15, well below 2^53, so
-- none rounds: a time is split into its seconds and its nanoseconds; the time since
-- the latest request is formed only when under 9 * 10^15 ns, longer than any such
-- bucket's refill time; the tokens it gains are formed only when they leave the
-- bucket short of full, so they stay below its capacity.

local SMALL_DIGITS, SMALL_TIME_DIGITS = 15, 24
local LONG_GAP = 9000000 -- seconds, 9 * 10^15 ns: a small bucket is full again by then

local function seconds_and_ns(t) -- a time's text as whole seconds and nanoseconds
  local length = #t
  if length <= 9 then
    return 0, tonumber(t)
  end
  return tonumber(sub(t, 1, length - 9)), tonumber(sub(t, length - 8))
end

local function ceil_div(a, b) -- ceil(a / b) exactly, for 0 <= a and 1 <= b below 10^15
  -- Below 10^15 the rounded quotient never crosses an integer, so q is right; the
  -- check makes that plain at the cost of two products, each below 2 * 10^15.
  local q = ceil(a / b)
  if q > 0 and (q - 1) * b >= a then
    q = q - 1
  elseif q * b < a then
    q = q + 1
  end
  return q
end

local function refill_small(now_text, last_text, units, full, gain)
  local now_s, now_ns = seconds_and_ns(now_text)
  local last_s, last_ns = seconds_and_ns(last_text)
  if now_s < last_s or (now_s == last_s and now_ns <= last_ns) then
    return units, last_text -- late, or at the same time: no gain, the clock stays
  end
  local gap = now_s - last_s
  if gap >= LONG_GAP then
    return full, now_text
  end
  local elapsed = gap * 1000000000 + (now_ns - last_ns)
  if elapsed >= ceil_div(full - units, gain) then
    return full, now_text
  end
  return units + elapsed * gain, now_text
end

local function decide_small(now_text, stored)
  local unit, full, gain = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
  local units, clock_text = full, now_text
  if stored then
    local held = tonumber(stored[2])
    units, clock_text = refill_small(now_text, stored[1], held, full, gain)
  end

  local allowed = 0
  if units >= unit then
    units = units - unit
    allowed = 1
  end

  -- Full again after ceil((full - units) / gain) ns, counted here in whole ms.
  local ms = ceil_div(ceil_div(full - units, gain), 1000000)
  return allowed, format("%.0f", units), clock_text, ms
end

-- Any bucket ------------------------------------------------------------------------

local function decide_big(now_text, stored)
  local unit, full, gain = big(ARGV[3]), big(ARGV[4]), big(ARGV[5])
  local units, clock_text = full, now_text
  if stored then
    local now, last = big(now_text), big(stored[1])
    units = big(stored[2])
    if compare(now, last) > 0 then
      units = add(units, multiply(subtract(now, last), gain))
      if compare(units, full) > 0 then
        units = full
      end
    else
      clock_text = stored[1]
    end
  end

  local allowed = 0
  if compare(units, unit) >= 0 then
    units = subtract(units, unit)
    allowed = 1
  end

  -- Full again after (full - units) / gain ns. Only a deadline, never a decision, so
  -- doubles will do as long as they never come out short: approximate() is within
  -- 1e-14 and each double step within 1e-16, and the margin of 1e-9 covers them all.
  local missing, missing_shift = approximate(subtract(full, units))
  local per_ns, per_ns_shift = approximate(gain)
  local ns = missing / per_ns * BASE ^ (missing_shift - per_ns_shift)
  return allowed, text(units), clock_text, ceil(ns * (1 + 1e-9) / 1e6)
end

-- The request -----------------------------------------------------------------------

local key, shape = KEYS[1], ARGV[2]
local now_text = ARGV[1]
if now_text == "" then
  local clock = call("TIME") -- seconds, microseconds
  now_text = clock[1] .. format("%06d", tonumber(clock[2])) .. "000"
end

-- Refill and decide. A bucket never seen, or kept under another shape, starts full;
-- else it gains for the time since its latest request, up to full. A late request
-- gains nothing and leaves the bucket's clock where it was. The bucket's clock is
-- kept as the text it came as, so that it is never turned back into text.
local stored = call("HMGET", key, "t", "u", "s")
if stored[3] ~= shape or not stored[1] or not stored[2] then
  stored = nil
end
local small = #ARGV[3] <= SMALL_DIGITS
  and #ARGV[4] <= SMALL_DIGITS
  and #ARGV[5] <= SMALL_DIGITS
  and #now_text <= SMALL_TIME_DIGITS
  and (stored == nil or #stored[1] <= SMALL_TIME_DIGITS)
local decide = small and decide_small or decide_big
local allowed, units_text, clock_text, ms = decide(now_text, stored)
call("HSET", key, "t", clock_text, "u", units_text, "s", shape)

-- Expire once full again, plus 1 ms for the server's clock read in whole ms. The
-- bucket is not full after a request, so that is 2 ms at the least. Past 2^53 ms
-- (285,000 years), or with expire off, the key is kept without expiry.
ms = ms + 1
if ms < 2 then
  ms = 2
end
if ARGV[6] == "1" and ms < 2 ^ 53 then
  call("PEXPIRE", key, format("%.0f", ms))
else
  call("PERSIST", key)
end

return { allowed, units_text, now_text }
