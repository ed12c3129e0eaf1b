/**
 * The heartbeat part of a flush (flush-script.ts runs it on every attempt, retries included): the
 * isolate's enforcement report and its place in `isolates`, and, once per isolate, the expiry of the
 * ledger keys (layout.ts).
 */

import type { Command } from "./flush-script.js";
import { type IsolateReport, serializeReport } from "./isolate-report.js";
import { MIRROR_KEYS, REPORT_TTL_SECONDS } from "./layout.js";
import type { Enforcement } from "./options.js";

export interface BeatInput {
  readonly prefix: string;
  readonly region: string;
  readonly isolate: string;
  /** `<region>:<isolate>`. */
  readonly member: string;
  readonly seq: number;
  readonly now: number;
  readonly enforcement: Enforcement;
  readonly reportSecret: string | undefined;
  /** The deployment environment the report's MAC is bound to (isolate-report.ts). */
  readonly reportEnvironment?: string | undefined;
  readonly retentionSeconds: number;
  /** Keys this isolate already gave an expiry (shared with the batches). */
  readonly expiring: Set<string>;
}

/** The report commands of one attempt (the caller decides whether a report is due). */
export async function reportBeats(input: BeatInput): Promise<Command[]> {
  const { enforcement, now, prefix, member } = input;
  const report: IsolateReport = {
    v: 1,
    region: input.region,
    isolate: input.isolate,
    seq: input.seq,
    at: now,
    digest: enforcement.digest,
    switches: [...enforcement.switches],
    fast: [...enforcement.fast],
  };
  const key = (name: string): string => prefix + name;
  const beats: Command[] = [
    [
      "SET",
      key(MIRROR_KEYS.isolate(member)),
      await serializeReport(report, input.reportSecret, input.reportEnvironment),
      "EX",
      String(REPORT_TTL_SECONDS),
    ],
    ["ZADD", key(MIRROR_KEYS.isolates), String(now), member],
  ];
  if (!input.expiring.has("~ledger")) {
    input.expiring.add("~ledger");
    const keep = String(input.retentionSeconds);
    for (const name of [MIRROR_KEYS.seq, MIRROR_KEYS.accounted, MIRROR_KEYS.contact, MIRROR_KEYS.isolates])
      beats.push(["EXPIRE", key(name), keep]);
    beats.push([
      "ZREMRANGEBYSCORE",
      key(MIRROR_KEYS.isolates),
      "-inf",
      String(now - input.retentionSeconds * 1000),
    ]);
  }
  return beats;
}
