import type { JWK } from "jose";
import { withDeadline } from "../core/deadline.js";
import {
  ConfigInvalid,
  isContainmentError,
  type RulesIssue,
  RulesSourceUnavailable,
} from "../core/errors.js";
import { DEFAULT_MAX_STALE_MS, DEFAULT_REFRESH_MS } from "../model/defaults.js";
import { FASTLANE_KEY_ITEM, killSwitchItem, RULES_ITEM } from "../model/edge-config-items.js";
import type { Services } from "../model/services.js";
import type { RulesDocument } from "../rules/document.js";
import type { KillSwitchSpec } from "../rules/kill-switch.js";
import { type CompiledRuleset, compileRuleset } from "../rules/ruleset.js";
import {
  DEFAULT_MAX_DOCUMENT_BYTES,
  readDocument,
  readSwitches,
  type SwitchEntry,
  sortedSwitches,
  switchName,
  switchVersion,
} from "./edge-config/items.js";
import { type OutageReport, outageTracker } from "./edge-config/outage.js";
import { describeInForce, invalidMessage, outageMessage } from "./edge-config/report.js";
import { FALLBACK_MESSAGES } from "./fallback.js";
import { type FastLaneReader, type FastLaneSwitch, fastLaneKeys } from "./fastlane.js";
import type { RulesProvider, SourceStatus } from "./provider.js";

/** The two calls we need from `@vercel/edge-config` (or `@vercel/global-config`) clients. */
export interface EdgeConfigReader {
  getAll(keys?: string[]): Promise<Record<string, unknown> | undefined>;
  digest(): Promise<string>;
}

export interface EdgeConfigSourceOptions {
  client: EdgeConfigReader;
  /** Item holding the rules document; default `containment`. */
  key?: string;
  /** How long an answer from Edge Config is trusted before asking again (in the background); default 3,000 ms. */
  refreshMs?: number;
  /**
   * The oldest answer a request may be decided on; default 2 × `refreshMs`, at most 5,000 ms unless
   * `refreshMs` is longer. A busy isolate refreshes
   * behind its requests and never gets this old; an isolate idle for longer awaits a refresh (under
   * `timeoutMs`), so its first request after a flip is never decided on the rules before it.
   */
  maxStaleMs?: number;
  /** Deadline for each Edge Config call of a warm isolate; default 1000 ms. */
  timeoutMs?: number;
  /**
   * Deadline of a cold start's Edge Config calls; default `timeoutMs`. Shorter: a new isolate falls back
   * sooner when Edge Config is slow, but may enforce the fallback where Edge Config would have answered.
   * Every concurrent cold request waits for its own answer (workerd forbids awaiting another
   * request's I/O), so each may wait this long; problems are reported once per isolate.
   */
  coldStartTimeoutMs?: number;
  /** Documents larger than this are refused (and reported) before validation; default 512 KB, Edge Config's largest store. */
  maxDocumentBytes?: number;
  /** While Edge Config stays down, how often to report it again; default 5 minutes. */
  outageReportMs?: number;
  /** Rules used on a cold start while Edge Config is unreachable or holds no valid document. */
  fallback: RulesDocument;
  /**
   * Rules while Edge Config has never answered (a cold start that cannot reach it); default
   * `fallback`. The firewall adds the sensitive routes' fail mode here (sources/fallback.ts); the
   * fast lane's switches are added on top like everywhere else.
   */
  unavailable?: RulesDocument;
  services: Services;
  /** Kill switches published through Redis ahead of Edge Config's propagation (src/sources/fastlane.ts). */
  fastLane?: { reader: FastLaneReader; publicKeys?: readonly JWK[] };
}

interface Settings {
  key: string;
  refreshMs: number;
  maxStaleMs: number;
  timeoutMs: number;
  coldStartTimeoutMs: number;
  maxDocumentBytes: number;
  outageReportMs: number;
}

function positive(name: string, value: number | undefined, fallback: number, min = 1): number {
  const out = value ?? fallback;
  if (!Number.isFinite(out) || out < min)
    throw new ConfigInvalid(`${name} must be a number ≥ ${min} (ms), got ${String(value)}`);
  return out;
}

/** Defaults and checks, up front: a misconfigured source fails at setup, never per request. */
function settingsOf(options: EdgeConfigSourceOptions): Settings {
  const refreshMs = positive("refreshMs", options.refreshMs, DEFAULT_REFRESH_MS, 0);
  const timeoutMs = positive("edgeConfigTimeoutMs", options.timeoutMs, 1000);
  // Twice refreshMs, but no more than DEFAULT_MAX_STALE_MS unless refreshMs itself is longer.
  const staleDefault = Math.max(refreshMs, Math.min(2 * refreshMs, DEFAULT_MAX_STALE_MS));
  const maxStaleMs = positive("maxStaleMs", options.maxStaleMs, staleDefault, refreshMs);
  return {
    key: options.key ?? RULES_ITEM,
    refreshMs,
    maxStaleMs,
    timeoutMs,
    coldStartTimeoutMs: positive("coldStartTimeoutMs", options.coldStartTimeoutMs, timeoutMs),
    maxDocumentBytes: positive("maxDocumentBytes", options.maxDocumentBytes, DEFAULT_MAX_DOCUMENT_BYTES),
    outageReportMs: positive("outageReportMs", options.outageReportMs, 5 * 60_000),
  };
}

/** Switch items whose highest version an isolate remembers (a handful per incident). */
const MAX_SEEN_SWITCHES = 1000;

/**
 * Edge Config's switches plus the fast lane's, which only add: a lane entry is dropped once Edge
 * Config holds, or has held, its switch at its version or a later one (`seen`): after a lift the
 * entry that bridged that version is not enforced again, whoever puts it back into Redis.
 */
function composeSwitches(
  held: ReadonlyMap<string, KillSwitchSpec>,
  fast: readonly FastLaneSwitch[],
  seen: ReadonlyMap<string, number>,
): { entries: SwitchEntry[]; fastNames: string[] } {
  const entries = sortedSwitches(held);
  const fastNames: string[] = [];
  for (const lane of fast) {
    const item = killSwitchItem(lane.id);
    const inEdgeConfig = held.get(item);
    const newest = Math.max(inEdgeConfig ? switchVersion(inEdgeConfig) : -1, seen.get(item) ?? -1);
    if (newest >= lane.version) continue;
    entries.push({ key: `fastlane:${killSwitchItem(lane.id)}`, spec: lane.spec });
    fastNames.push(`${lane.id}@${lane.version}`);
  }
  return { entries, fastNames };
}

function issuesOf(error: unknown): RulesIssue[] {
  return isContainmentError(error) && error.issues.length > 0
    ? [...error.issues]
    : [{ path: "$", message: String(error) }];
}

/**
 * Rules from Edge Config, hot-reloaded. Each refresh asks for the store's digest first and fetches
 * the items only when it changed, so unchanged rules are never recompiled. A busy isolate refreshes
 * in the background (`waitUntil`) and decides on the ruleset in force meanwhile, for at most
 * `maxStaleMs`; an idle one awaits its refresh. A document that fails validation (or is over
 * `maxDocumentBytes`) never replaces the one in force, nor does an invalid kill-switch item replace
 * its previous version; an outage keeps the last good ruleset; a cold start that cannot reach Edge
 * Config compiles the fallback. Outages and invalid documents are reported once per change.
 *
 * Requests never share an in-flight promise: workerd forbids awaiting I/O begun by another request,
 * so a request that must wait starts its own call, and concurrent ones use the ruleset in force.
 */
export function edgeConfigRules(options: EdgeConfigSourceOptions): RulesProvider {
  const settings = settingsOf(options);
  const { services, client, fastLane } = options;
  const outage = outageTracker(settings.outageReportMs);

  let ruleset: CompiledRuleset | undefined;
  let lastDigest: string | undefined;
  /** When the last completed attempt learned something: a success's start, a failure's end. */
  let answeredAt = Number.NEGATIVE_INFINITY;
  let background = false;
  let goodDocument: RulesDocument | undefined;
  let everLoaded = false;
  let goodSwitches = new Map<string, KillSwitchSpec>();
  /** The highest version Edge Config has held of each switch item, lifted ones included (bounded). */
  const seenVersions = new Map<string, number>();
  let laneKeys: JWK[] = [];
  let reportedInvalid: string | undefined;
  /** Whether Edge Config ever answered: until then the fallback is the `unavailable` document. */
  let answered = false;
  let toldNoDocument = false;
  const status: SourceStatus = { source: "fallback", digest: "", loadedAt: 0, switches: [], fast: [] };

  function install(document: RulesDocument | undefined): void {
    const { entries, fastNames } = composeSwitches(
      goodSwitches,
      fastLane?.reader.switches(services.now()) ?? [],
      seenVersions,
    );
    const next = compileRuleset(
      document ?? (answered ? options.fallback : (options.unavailable ?? options.fallback)),
      entries,
      document ? "edge-config" : "fallback",
      services,
    );
    ruleset = next;
    const fromDocument = next.document.rules.filter((rule) => rule.kind === "kill-switch").map(switchName);
    Object.assign(status, {
      source: next.source,
      digest: next.digest,
      loadedAt: next.compiledAt,
      switches: [...fromDocument, ...entries.map((entry) => switchName(entry.spec))],
      fast: fastNames,
    });
  }

  function inForce(): string {
    return ruleset ? describeInForce(ruleset, everLoaded) : "no rules compiled yet";
  }

  function reportInvalid(issues: RulesIssue[], digest: string): void {
    const message = invalidMessage(issues.length, inForce());
    status.lastError = { at: services.now(), code: "ERR_RULES_INVALID", message, issues };
    // Once per served state: concurrent cold starts and repeated refreshes of one digest report nothing new.
    if (reportedInvalid === digest) return;
    reportedInvalid = digest;
    services.report("rules-invalid", { message, issues, inForce: status.source, digest: status.digest });
  }

  /**
   * Applies a fresh set of items: validates and compiles each part, keeping the last good version of
   * any bad one. A document is adopted only once it has compiled, so compile-time checks (a tenant
   * parameter no pattern captures) protect the rules in force as much as the schema does.
   */
  function apply(items: Readonly<Record<string, unknown>>, digest: string): void {
    answered = true;
    const read = readDocument(items[settings.key], settings.maxDocumentBytes);
    if (read.kind === "absent" && goodDocument === undefined && !toldNoDocument) {
      toldNoDocument = true;
      services.report("rules-document-missing", {
        message: FALLBACK_MESSAGES["no-document"],
        key: settings.key,
      });
    }
    const switches = readSwitches(items, goodSwitches);
    goodSwitches = switches.switches;
    for (const [item, spec] of goodSwitches) {
      const version = Math.max(switchVersion(spec), seenVersions.get(item) ?? -1);
      seenVersions.delete(item);
      seenVersions.set(item, version);
      if (seenVersions.size > MAX_SEEN_SWITCHES)
        seenVersions.delete(seenVersions.keys().next().value as string);
    }
    if (items[FASTLANE_KEY_ITEM] !== undefined) laneKeys = fastLaneKeys(items[FASTLANE_KEY_ITEM]);
    const issues = read.kind === "invalid" ? [...read.issues, ...switches.issues] : switches.issues;
    const candidate = read.kind === "valid" ? read.document : goodDocument;
    try {
      install(candidate);
      goodDocument = candidate;
      everLoaded ||= candidate !== undefined;
    } catch (error) {
      issues.push(...issuesOf(error));
      // The previous document compiled before, so this keeps it in force with the new kill switches.
      install(goodDocument);
    }
    if (issues.length > 0) reportInvalid(issues, digest);
    else reportedInvalid = undefined;
  }

  function noteOutage(report: OutageReport | undefined, failure?: RulesSourceUnavailable): void {
    if (!report) return;
    const event = report.state === "recovered" ? "rules-source-recovered" : "rules-source-error";
    const cause = failure && {
      reason: failure.reason,
      ...(failure.status === undefined ? {} : { status: failure.status }),
    };
    services.report(event, {
      ...report,
      ...cause,
      message: outageMessage(report, inForce()),
      inForce: status.source,
    });
  }

  async function refresh(deadlineMs: number): Promise<void> {
    const startedAt = services.now();
    try {
      const digest = await withDeadline(client.digest(), deadlineMs, "edge config digest");
      if (digest !== lastDigest || !ruleset) {
        const items = await withDeadline(client.getAll(), deadlineMs, "edge config items");
        // A concurrent cold request may have applied this digest while we waited.
        if (digest !== lastDigest || !ruleset) {
          apply(items ?? {}, digest);
          lastDigest = digest;
        }
      }
      answeredAt = Math.max(answeredAt, startedAt);
      status.lastSuccessAt = services.now();
      noteOutage(outage.succeeded(services.now()));
    } catch (error) {
      const now = services.now();
      answeredAt = Math.max(answeredAt, now);
      // The cause stays: a wrong token (401) is a misconfiguration to fix, not an outage to wait out.
      const failure = RulesSourceUnavailable.from(error);
      const message = failure.message;
      if (!ruleset) install(undefined);
      status.lastError = {
        at: now,
        code: failure.code,
        reason: failure.reason,
        ...(failure.status === undefined ? {} : { status: failure.status }),
        message: `${message}; ${inForce()}`,
      };
      noteOutage(outage.failed(now, message.replace(/^edge-containment: /, "")), failure);
    }
  }

  function refreshBehind(waitUntil: (promise: Promise<unknown>) => void): void {
    if (background) return;
    background = true;
    waitUntil(refresh(settings.timeoutMs).finally(() => (background = false)));
  }

  function laneKeysNow(): JWK[] {
    return [...laneKeys, ...(fastLane?.publicKeys ?? [])];
  }

  function recompile(): void {
    if (ruleset) install(ruleset.source === "edge-config" ? goodDocument : undefined);
  }

  /** Starts a fast-lane read when one is due; a changed set is compiled in the same background task. */
  function pollLane(waitUntil: (promise: Promise<unknown>) => void): void {
    const read = fastLane?.reader.poll(laneKeysNow());
    if (read) waitUntil(read.then((changed) => changed && recompile()));
  }

  /**
   * Cold start: this request waits for its own Edge Config answer (under its own deadline) rather
   * than enforcing the fallback early, and reads the fast lane beside it. With Edge Config down the
   * lane's switches apply now; otherwise they are verified with the key item just read, behind the request.
   */
  async function coldStart(waitUntil: (promise: Promise<unknown>) => void): Promise<CompiledRuleset> {
    const lane = fastLane?.reader.poll(laneKeysNow(), true);
    await refresh(settings.coldStartTimeoutMs);
    if (lane && fastLane) {
      const settled = lane.then(async (changed) => {
        const again = await fastLane.reader.reverify(laneKeysNow());
        if (changed || again) recompile();
      });
      if (outage.down) await settled;
      else waitUntil(settled);
    }
    if (!ruleset) install(undefined);
    return ruleset as unknown as CompiledRuleset;
  }

  return {
    async current(waitUntil) {
      if (!ruleset) return coldStart(waitUntil);
      pollLane(waitUntil);
      const age = services.now() - answeredAt;
      if (age < settings.refreshMs) return ruleset;
      // Within maxStaleMs, or while a background attempt is already waiting out a known outage
      // (another call of this request could only repeat it), decide on the rules in force.
      if (age < settings.maxStaleMs || (background && outage.down)) {
        refreshBehind(waitUntil);
        return ruleset;
      }
      await refresh(settings.timeoutMs);
      return ruleset;
    },
    status: () => ({ ...status }),
  };
}
