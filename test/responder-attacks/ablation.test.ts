/**
 * The responder-side suite is not padding: with each defence's module switched to a no-op in turn,
 * every case of that defence fails, and with all of them on every case passes. The modules
 * are replaced in this test process only (vi.mock), behind a switch the tests flip; the product
 * has no way to turn a defence off.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { CASES, type Defence, type Env, runCases, startEnv } from "./cases.js";

const OFF = new Set<Defence>();
const off = (defence: Defence) => OFF.has(defence);

vi.mock("../../src/stores/mirror/isolate-report.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/stores/mirror/isolate-report.js")>();
  return {
    ...real,
    verifyReport: (...args: Parameters<typeof real.verifyReport>) =>
      off("report-mac") ? Promise.resolve("verified" as const) : real.verifyReport(...args),
    reportEnvironment: (env: Readonly<Record<string, string | undefined>>) =>
      off("report-environment") ? real.PRODUCTION_ENVIRONMENT : real.reportEnvironment(env),
  };
});
vi.mock("../../src/ops/incident-versions.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/ops/incident-versions.js")>();
  return {
    ...real,
    // Off: the copy takes whatever the live keys say, as a plain refresh did.
    mergeKey: (...args: Parameters<typeof real.mergeKey>) =>
      off("copy-versions") ? { writes: { ...args[1] }, findings: [] } : real.mergeKey(...args),
  };
});
vi.mock("../../src/core/escape.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/core/escape.js")>();
  const pass =
    <T extends (text: string) => string>(fn: T) =>
    (text: string) =>
      off("escape") ? text : fn(text);
  return {
    ...real,
    escapeHtml: pass(real.escapeHtml),
    escapeMarkdown: pass(real.escapeMarkdown),
    escapeTerminal: pass(real.escapeTerminal),
    // Off: the Markdown template interpolates values as they are.
    md: (strings: TemplateStringsArray, ...values: unknown[]) =>
      off("escape")
        ? new real.Markdown(
            strings.reduce(
              (out, part, i) =>
                out +
                String(
                  values[i - 1] instanceof real.Markdown
                    ? (values[i - 1] as InstanceType<typeof real.Markdown>).text
                    : Array.isArray(values[i - 1])
                      ? (values[i - 1] as unknown[]).map(String).join("")
                      : (values[i - 1] ?? ""),
                ) +
                part,
            ),
          )
        : real.md(strings, ...values),
  };
});
vi.mock("../../src/dashboard/local/request-guard.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/dashboard/local/request-guard.js")>();
  return {
    ownHost: (...args: Parameters<typeof real.ownHost>) =>
      off("dashboard-request-guard") || real.ownHost(...args),
    fromOwnPage: (...args: Parameters<typeof real.fromOwnPage>) =>
      off("dashboard-request-guard") || real.fromOwnPage(...args),
  };
});
vi.mock("../../src/dev/local-guard.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/dev/local-guard.js")>();
  return {
    ...real,
    localRefusal: (...args: Parameters<typeof real.localRefusal>) =>
      off("local-guard") ? undefined : real.localRefusal(...args),
  };
});
vi.mock("../../src/core/redact.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/core/redact.js")>();
  return {
    ...real,
    redactSecrets: (...args: Parameters<typeof real.redactSecrets>) =>
      off("redact") ? args[0] : real.redactSecrets(...args),
  };
});
vi.mock("../../src/ops/audit/verify.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/ops/audit/verify.js")>();
  return {
    ...real,
    verifyAudit: async (...args: Parameters<typeof real.verifyAudit>) => {
      const result = await real.verifyAudit(...args);
      if (!off("audit-verify")) return result;
      const { firstBreak: _ignored, ...rest } = result;
      return { ...rest, ok: true };
    },
  };
});

vi.mock("../../src/rules/recorded-tenant.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/rules/recorded-tenant.js")>();
  return {
    ...real,
    // Off: every validated tenant is recorded as it came, as before declared tenants.
    recordTenantOf: (...args: Parameters<typeof real.recordTenantOf>) => {
      const record = real.recordTenantOf(...args);
      return (tenant: string | undefined, verified: boolean) =>
        off("recorded-tenant") ? (tenant ?? real.UNDECLARED_TENANT) : record(tenant, verified);
    },
  };
});
vi.mock("../../src/stores/pseudonym-key.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/stores/pseudonym-key.js")>();
  return {
    ...real,
    // Off: without a configured key, the key is derived from the edge's Redis token (cases.ts EDGE_TOKEN).
    pseudonymKeyOf: (...args: Parameters<typeof real.pseudonymKeyOf>) =>
      off("pseudonym-key")
        ? (args[0] ?? "upstash-token:edge-upstash-token-held-by-every-deployment")
        : real.pseudonymKeyOf(...args),
  };
});

const DEFENCES: readonly Defence[] = [...new Set(CASES.map((c) => c.defence))];

let env: Env;
beforeAll(async () => {
  env = await startEnv();
}, 60_000);
afterAll(async () => {
  OFF.clear();
  await env?.close();
});

describe("the responder-side suite with one defence switched off at a time", { timeout: 180_000 }, () => {
  it("passes every case with every defence on", async () => {
    expect(await runCases(env)).toEqual([]);
  });

  it.each(DEFENCES)("fails every case of %s when it is switched off", async (defence) => {
    OFF.add(defence);
    try {
      const cases = CASES.filter((c) => c.defence === defence);
      const failed = await runCases(env, cases);
      console.log(
        `${defence} off: ${failed.length} failing (${failed.map((f) => f.split(":")[0]).join(", ")})`,
      );
      expect(failed.length).toBe(cases.length);
    } finally {
      OFF.delete(defence);
    }
  });
});
