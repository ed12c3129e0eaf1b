/**
 * One flush = one Lua call that applies a batch of mirror commands at most once: a flush that
 * misses its deadline may still be applied by Redis later, and its retry must not count it twice.
 *
 * The batch is guarded by `mirror:batch:<isolate>:<n>` (SET NX): a retried batch finds its guard and
 * applies nothing, and reads from it what the first application accounted and which commands it
 * could not apply (so the isolate learns that even when the first reply was lost). Every command runs under `pcall` and is checked: the script answers which ones
 * failed (OOM under `noeviction`, NOPERM), so the isolate retries exactly those instead of taking a
 * reply full of errors for a delivery. Under OOM Redis refuses the first write of a script, so a batch
 * is then refused whole (status -1) and kept for the next attempt.
 *
 * Before the guard, a heartbeat runs on every attempt, retries included: the isolate's decision
 * sequence number (kept as a maximum), its last contact, and its enforcement report when due. So an
 * isolate that dies while its batches are unresolved still leaves Redis knowing how many decisions it
 * made, and `mirror:seq - mirror:accounted` is its exact gap.
 *
 * ARGV: guard, guardTtl, seqKey, contactKey, member, seq, at, accountedKey, beats, commands, then each
 * command as `argc, weight, arg…` (weight = decisions a command accounts for: counts and drops).
 * Answer: {status, heartbeat ok, accounted, last error, failed command index…}; status 1 applied,
 * 0 applied before (a retry: accounted and failed as the first application left them), -1 refused
 * (nothing applied). An empty guard (a heartbeat without a batch) skips the guard.
 */

export const FLUSH_SCRIPT = `local pos = 11
local function command()
  local argc, weight = tonumber(ARGV[pos]), tonumber(ARGV[pos + 1])
  local cmd = {}
  for j = 1, argc do cmd[j] = ARGV[pos + 1 + j] end
  pos = pos + argc + 2
  return cmd, weight
end
local function failed(reply)
  return type(reply) == 'table' and reply.err ~= nil
end
local member, seq = ARGV[5], tonumber(ARGV[6])
local beat = 1
local known = redis.pcall('HGET', ARGV[3], member)
if failed(known) then
  beat = 0
elseif (tonumber(known) or -1) < seq then
  if failed(redis.pcall('HSET', ARGV[3], member, ARGV[6])) then beat = 0 end
end
if ARGV[4] ~= '' and failed(redis.pcall('HSET', ARGV[4], member, ARGV[7])) then beat = 0 end
for i = 1, tonumber(ARGV[9]) do
  local cmd = command()
  if failed(redis.pcall(unpack(cmd))) then beat = 0 end
end
local guard = ARGV[1]
local expected, scan = 0, pos
for i = 1, tonumber(ARGV[10]) do
  expected = expected + tonumber(ARGV[scan + 1])
  scan = scan + tonumber(ARGV[scan]) + 2
end
if guard ~= '' then
  -- Written with the outcome of a clean application, so a clean batch (the rule) costs one SET; it is
  -- rewritten below only when a command failed. Atomic script: no reader sees it before the end.
  local set = redis.pcall('SET', guard, expected .. ':', 'NX', 'EX', ARGV[2])
  if failed(set) then return {-1, beat, 0, set.err} end
  if not set then
    local outcome = redis.pcall('GET', guard)
    if failed(outcome) or not outcome then outcome = '0:' end
    local colon = string.find(outcome, ':', 1, true) or 0
    local answer = {0, beat, tonumber(string.sub(outcome, 1, colon - 1)) or 0, ''}
    for index in string.gmatch(string.sub(outcome, colon + 1), '%d+') do answer[#answer + 1] = tonumber(index) end
    return answer
  end
end
local accounted, lastError, lost = 0, '', {}
for i = 1, tonumber(ARGV[10]) do
  local cmd, weight = command()
  local reply = redis.pcall(unpack(cmd))
  if failed(reply) then
    lost[#lost + 1] = i
    lastError = reply.err
  else
    accounted = accounted + weight
  end
end
if accounted > 0 then redis.pcall('HINCRBY', ARGV[8], member, accounted) end
if guard ~= '' and (accounted ~= expected or #lost > 0) then
  redis.pcall('SET', guard, accounted .. ':' .. table.concat(lost, ','), 'EX', ARGV[2])
end
return {1, beat, accounted, lastError, unpack(lost)}`;

export type Command = readonly string[];

export interface WeightedCommand {
  readonly args: Command;
  /** Decisions this command accounts for in `mirror:accounted` (counts increments, drop counters). */
  readonly weight: number;
}

export interface FlushFrame {
  guard: string;
  guardTtlSeconds: number;
  seqKey: string;
  contactKey: string;
  accountedKey: string;
  member: string;
  seq: number;
  at: number;
  beats: readonly Command[];
  commands: readonly WeightedCommand[];
}

/** KEYS (every key touched, declared as Redis and Upstash ask) and ARGV of one flush call. */
export function flushArguments(frame: FlushFrame): { keys: string[]; args: string[] } {
  const args = [
    frame.guard,
    String(frame.guardTtlSeconds),
    frame.seqKey,
    frame.contactKey,
    frame.member,
    String(frame.seq),
    String(frame.at),
    frame.accountedKey,
    String(frame.beats.length),
    String(frame.commands.length),
  ];
  const keys = new Set([frame.seqKey, frame.accountedKey]);
  if (frame.contactKey !== "") keys.add(frame.contactKey);
  if (frame.guard !== "") keys.add(frame.guard);
  for (const beat of frame.beats) {
    args.push(String(beat.length), "0", ...beat);
    if (beat[1] !== undefined) keys.add(beat[1]);
  }
  for (const command of frame.commands) {
    args.push(String(command.args.length), String(command.weight), ...command.args);
    if (command.args[1] !== undefined) keys.add(command.args[1]);
  }
  return { keys: [...keys], args };
}

export interface FlushAnswer {
  /** 1 applied now, 0 applied by an earlier attempt, -1 refused (nothing applied). */
  status: 1 | 0 | -1;
  heartbeat: boolean;
  accounted: number;
  error: string;
  /** 0-based indexes of `commands` that failed (status 1 only). */
  failed: number[];
}

export function parseFlushAnswer(reply: unknown): FlushAnswer {
  if (!Array.isArray(reply) || reply.length < 4)
    throw new Error("edge-containment: the mirror flush script answered something unexpected");
  const status = Number(reply[0]);
  if (status !== 1 && status !== 0 && status !== -1)
    throw new Error(`edge-containment: the mirror flush script answered status ${String(reply[0])}`);
  return {
    status,
    heartbeat: Number(reply[1]) === 1,
    accounted: Number(reply[2]) || 0,
    error: String(reply[3] ?? ""),
    failed: reply.slice(4).map((index) => Number(index) - 1),
  };
}
