/**
 * One flush of the detectors' batch = one Lua call (docs/recorded-format.md, "Detections"). For each
 * counter it adds the batch's values (PFADD into a HyperLogLog, or INCRBY), reads the window's value
 * and, above the threshold, creates the detection once across isolates: the first flush to see the
 * crossing finds no `detection:<id>` hash, decides the action under the settling guard and the
 * budget, writes the hash and a `detections` stream entry, and answers `first` so that isolate alone
 * alerts. Then it answers the PTTL of each watched quarantine key.
 *
 * Every key name comes from the batch (built by src/rules/detector/keys.ts); the script only adds the
 * prefix. A counter retried after a lost reply counts again: an HLL absorbs repeats, a counter may
 * over-count by one batch (documented: docs/detection.md).
 *
 * ARGV: prefix, now, isolate, stream key, stream length, detection TTL ms, batch JSON
 *   {c: [{k, h, n, v, ttl, th, id, d, det, typ, dim, kid, route, ten, win, wms, p: plan, s?: surge}], w: [key…]}
 *   (surge: {k: baseline key, m: multiplier, ms: baseline ms})
 * Answer: JSON {c: [[k, value, action?, pttl?]], w: [[key, pttl]]}: `action` when this flush created
 * the detection; `''` and the quarantine's PTTL when another flush already had (over the threshold).
 */
export const DETECT_FLUSH_SCRIPT = `local P, now, isolate = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local streamKey, streamLen, detectionTtl = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
local batch = cjson.decode(ARGV[7])
local out = {c = {}, w = {}}
local function decide(p)
  if p.mode ~= 'quarantine' and p.mode ~= 'approval' then return p.mode end
  redis.call('SET', P .. p.epochKey, now, 'NX', 'PX', 86400000)
  local since = tonumber(redis.call('GET', P .. p.epochKey)) or now
  local spikes = redis.call('INCR', P .. p.spikeKey)
  redis.call('PEXPIRE', P .. p.spikeKey, 86400000)
  if now - since < p.settleMs and spikes > p.settleKeys then return 'paused-suspected-misconfiguration' end
  if p.mode == 'approval' then return 'awaiting-approval' end
  local used = redis.call('INCR', P .. p.budgetKey)
  if used == 1 then redis.call('PEXPIRE', P .. p.budgetKey, p.budgetMs) end
  if used > p.budgetMax then return 'budget-exhausted' end
  if redis.call('SET', P .. p.quarantineKey, p.record, 'NX', 'PX', p.forMs) then return 'quarantined' end
  return 'already-quarantined'
end
-- Surge: the key's trailing rate per window from its baseline hash (n requests since \`since\`,
-- halved when older than the baseline), counted before this window; no history, no trip.
local function surging(e, value)
  local b = P .. e.s.k
  local n = tonumber(redis.call('HGET', b, 'n') or '0')
  local since = tonumber(redis.call('HGET', b, 'since') or '') or now
  if now - since > e.s.ms then
    since = now - math.floor((now - since) / 2)
    n = math.floor(n / 2)
  end
  redis.call('HSET', b, 'n', n + e.n, 'since', since)
  redis.call('PEXPIRE', b, e.s.ms * 2)
  local history = e.win * e.wms - since
  if history < e.wms then return false end
  local before = n - (value - e.n)
  if before < 0 then before = 0 end
  return value > e.s.m * (before / (history / e.wms))
end
for _, e in ipairs(batch.c) do
  local key = P .. e.k
  local value
  if e.h == 1 then
    for i = 1, #e.v, 500 do
      redis.call('PFADD', key, unpack(e.v, i, math.min(i + 499, #e.v)))
    end
    value = redis.call('PFCOUNT', key)
  else
    value = redis.call('INCRBY', key, e.n)
  end
  if redis.call('PTTL', key) < 0 then redis.call('PEXPIRE', key, e.ttl) end
  local row = {e.k, value}
  local over = value > e.th
  if e.s then
    -- Always called: the baseline learns from every batch, not only from those above the floor.
    local surge = surging(e, value)
    over = over and surge
  end
  local fresh = over and redis.call('EXISTS', P .. e.d) == 0
  if over and not fresh and e.p.quarantineKey then
    -- Tripped already (by another isolate): answer its quarantine's PTTL, so this isolate enforces
    -- it from this flush on rather than at its next watch.
    row[3] = ''
    row[4] = redis.call('PTTL', P .. e.p.quarantineKey)
  end
  if fresh then
    local action = decide(e.p)
    local fields = {'id', e.id, 'detector', e.det, 'type', e.typ, 'route', e.route, 'dimension', e.dim,
      'key', e.kid, 'tenant', e.ten, 'value', tostring(value), 'threshold', tostring(e.th),
      'window', tostring(e.win), 'windowMs', tostring(e.wms), 'action', action, 'isolate', isolate,
      'at', tostring(now), 'state', 'open'}
    if e.p.quarantineKey then
      for _, f in ipairs({'quarantineKey', e.p.quarantineKey, 'record', e.p.record, 'forMs', tostring(e.p.forMs)}) do
        fields[#fields + 1] = f
      end
    end
    redis.call('HSET', P .. e.d, unpack(fields))
    redis.call('PEXPIRE', P .. e.d, detectionTtl)
    redis.call('XADD', P .. streamKey, 'MAXLEN', '~', streamLen, '*', unpack(fields))
    row[3] = action
  end
  out.c[#out.c + 1] = row
end
for _, q in ipairs(batch.w) do
  out.w[#out.w + 1] = {q, redis.call('PTTL', P .. q)}
end
return cjson.encode(out)
`;
