import { withDeadline } from "../core/deadline.js";
import { ContainmentError, isContainmentError, type RulesIssue } from "../core/errors.js";
import type { Services } from "../model/services.js";
import type { RulesDocument } from "../rules/document.js";
import type { KillSwitchSpec } from "../rules/kill-switch.js";
import { type CompiledRuleset, compileRuleset } from "../rules/ruleset.js";
import { KILL_SWITCH_PREFIX, validateDocument, validateKillSwitchItem } from "../rules/validate.js";
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
  /** How long an answer from Edge Config is trusted before asking again; default 500 ms. */
  refreshMs?: number;
  /** Deadline for each Edge Config call; default 1000 ms. */
  timeoutMs?: number;
  /** Rules used on a cold start while Edge Config is unreachable or holds no valid document. */
  fallback: RulesDocument;
  services: Services;
}

/**
 * Rules from Edge Config, hot-reloaded. Each refresh asks for the store's digest first and fetches
 * the items only when it changed, so unchanged rules are never recompiled. A document that fails
 * validation never replaces the one in force (nor does an invalid kill-switch item replace its
 * previous version); an outage keeps the last good ruleset; a cold start that cannot reach Edge
 * Config compiles the fallback.
 *
 * Requests never share an in-flight promise: workerd forbids awaiting I/O begun by another request,
 * so while one request refreshes, concurrent ones use the ruleset in force.
 */
export function edgeConfigRules(options: EdgeConfigSourceOptions): RulesProvider {
  const key = options.key ?? "containment";
  const refreshMs = options.refreshMs ?? 500;
  const timeoutMs = options.timeoutMs ?? 1000;
  const { services } = options;

  let ruleset: CompiledRuleset | undefined;
  let fallback: CompiledRuleset | undefined;
  let lastDigest: string | undefined;
  let checkedAt = Number.NEGATIVE_INFINITY;
  let refreshing = false;
  let healthy = true;
  let goodDocument: RulesDocument | undefined;
  const goodSwitches = new Map<string, KillSwitchSpec>();
  const status: SourceStatus = { source: "fallback", digest: "", loadedAt: 0 };

  function fail(
    code: "ERR_RULES_SOURCE" | "ERR_RULES_INVALID",
    message: string,
    issues?: RulesIssue[],
  ): void {
    status.lastError = { at: services.now(), code, message, ...(issues ? { issues } : {}) };
    services.report(code === "ERR_RULES_INVALID" ? "rules-invalid" : "rules-source-error", {
      message,
      issues,
    });
  }

  function useFallback(): CompiledRuleset {
    fallback ??= compileRuleset(options.fallback, [], "fallback", services);
    return fallback;
  }

  function install(next: CompiledRuleset): void {
    ruleset = next;
    status.source = next.source;
    status.digest = next.digest;
    status.loadedAt = next.compiledAt;
  }

  /**
   * Applies a fresh set of items: validates and compiles each part, keeping the last good version of
   * any bad one. A document is adopted only once it has compiled, so compile-time checks (a tenant
   * parameter no pattern captures) protect the rules in force as much as the schema does.
   */
  function apply(items: Record<string, unknown>): void {
    const issues: RulesIssue[] = [];
    let candidate = goodDocument;
    const raw = items[key];
    if (raw !== undefined) {
      const result = validateDocument(raw);
      if (result.ok) candidate = result.value;
      else issues.push(...result.issues);
    }
    const present = new Set<string>();
    for (const [itemKey, value] of Object.entries(items)) {
      if (!itemKey.startsWith(KILL_SWITCH_PREFIX)) continue;
      present.add(itemKey);
      const result = validateKillSwitchItem(itemKey, value);
      if (result.ok) goodSwitches.set(itemKey, result.value);
      else issues.push(...result.issues);
    }
    // A deleted item stops blocking; an invalid one keeps its last good version.
    for (const itemKey of [...goodSwitches.keys()]) if (!present.has(itemKey)) goodSwitches.delete(itemKey);
    const switches = [...goodSwitches]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, spec]) => ({ key: k, spec }));

    const compile = (document: RulesDocument | undefined) =>
      compileRuleset(document ?? options.fallback, switches, document ? "edge-config" : "fallback", services);
    try {
      install(compile(candidate));
      goodDocument = candidate;
    } catch (error) {
      issues.push(
        ...(isContainmentError(error) && error.issues.length > 0
          ? error.issues
          : [{ path: "$", message: String(error) }]),
      );
      // The previous document compiled before, so this keeps it in force with the new kill switches.
      if (candidate !== goodDocument) install(compile(goodDocument));
    }
    if (issues.length > 0)
      fail(
        "ERR_RULES_INVALID",
        `rejected ${issues.length} fault(s); the last good rules stay in force`,
        issues,
      );
  }

  async function refresh(): Promise<void> {
    refreshing = true;
    checkedAt = services.now();
    try {
      const digest = await withDeadline(options.client.digest(), timeoutMs, "edge config digest");
      if (digest !== lastDigest || !ruleset) {
        const items = await withDeadline(options.client.getAll(), timeoutMs, "edge config items");
        apply(items ?? {});
        lastDigest = digest;
      }
      status.lastSuccessAt = services.now();
      healthy = true;
    } catch (error) {
      healthy = false;
      const message = error instanceof ContainmentError ? error.message : "edge config unreachable";
      fail("ERR_RULES_SOURCE", `${message}; the last good rules stay in force`);
      if (!ruleset) install(useFallback());
    } finally {
      refreshing = false;
    }
  }

  return {
    async current(waitUntil) {
      if (ruleset) {
        if (refreshing || services.now() - checkedAt < refreshMs) return ruleset;
        // While Edge Config is failing, refresh behind the request instead of making it wait.
        if (!healthy) {
          waitUntil(refresh());
          return ruleset;
        }
        await refresh();
        return ruleset;
      }
      // Cold start: every request waits for its own answer rather than enforcing the fallback early.
      await refresh();
      return ruleset ?? useFallback();
    },
    status: () => ({ ...status }),
  };
}
