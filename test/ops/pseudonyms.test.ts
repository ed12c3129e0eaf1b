/**
 * `pseudonym resolve` (src/ops/pseudonyms.ts) resolves exactly what the edge wrote: the pseudonym a
 * real firewall put in Redis resolves to the tenant, user or network the responder suspects with
 * the deployment's key, and to nothing with any other key (docs/security.md, the pseudonym key).
 */
import { describe, expect, it } from "vitest";
import { Keyring } from "../../src/core/identity.js";
import { parseIp } from "../../src/core/ip.js";
import { resolvePseudonym } from "../../src/ops/pseudonyms.js";
import { configuredPseudonymKey, pseudonymKeyOf } from "../../src/stores/pseudonym-key.js";

const KEY = "deployment-pseudonym-key-0123";

describe("pseudonym resolve", () => {
  it("names the candidate whose pseudonym it is, folding a tenant's case and an address to its network", async () => {
    const keyring = new Keyring(KEY);
    const tenant = await keyring.pseudonym("tenant", "acme");
    const ask = { key: KEY, keySource: "CONTAINMENT_SALT" };
    expect(
      await resolvePseudonym({ ...ask, kind: "tenant", pseudonym: tenant, candidates: ["globex", "ACME"] }),
    ).toEqual({ pseudonym: tenant, kind: "tenant", checked: 2, match: "ACME" });
    const ip = parseIp("2001:db8:5:1::7");
    if (ip === undefined) throw new Error("bad test address");
    const network = await keyring.pseudonym("ip", keyring.bucket(ip));
    const found = await resolvePseudonym({
      ...ask,
      kind: "ip",
      pseudonym: network,
      candidates: ["2001:db8:5:1::99"],
    });
    expect(found.match).toBe("2001:db8:5:1::99");
  });

  it("resolves nothing with another key: the pseudonym is not reversible without the deployment's", async () => {
    const tenant = await new Keyring(KEY).pseudonym("tenant", "acme");
    const other = await resolvePseudonym({
      key: "some-other-key-of-16-or-more",
      keySource: "CONTAINMENT_SALT",
      kind: "tenant",
      pseudonym: tenant,
      candidates: ["acme"],
    });
    expect(other.match).toBeUndefined();
    expect(await new Keyring("some-other-key-of-16-or-more").pseudonym("tenant", "acme")).not.toBe(tenant);
  });

  it("refuses a short key and a malformed pseudonym, changing nothing", async () => {
    const base = { keySource: "CONTAINMENT_SALT", kind: "tenant" as const, candidates: ["acme"] };
    await expect(resolvePseudonym({ ...base, key: "short", pseudonym: "0123456789abcdef" })).rejects.toThrow(
      /at least 16 characters/,
    );
    await expect(resolvePseudonym({ ...base, key: KEY, pseudonym: "acme" })).rejects.toThrow(/16 hex digits/);
  });
});

describe("the edge's pseudonym key", () => {
  it("is the configured one, and an empty variable is no key (never an empty secret)", () => {
    expect(configuredPseudonymKey(undefined, { CONTAINMENT_SALT: "k" })).toBe("k");
    expect(configuredPseudonymKey("option", { CONTAINMENT_SALT: "k" })).toBe("option");
    expect(configuredPseudonymKey(undefined, { CONTAINMENT_SALT: "" })).toBeUndefined();
    expect(configuredPseudonymKey("", {})).toBeUndefined();
  });

  it("without one, is random to the isolate and says what to set", () => {
    const events: string[] = [];
    const report = (event: string, detail?: Readonly<Record<string, unknown>>) =>
      events.push(`${event} ${String(detail?.message)}`);
    const a = pseudonymKeyOf(undefined, report);
    const b = pseudonymKeyOf(undefined, report);
    expect(a).not.toBe(b);
    expect(events).toHaveLength(2);
    expect(events[0]).toMatch(/^pseudonym-key-missing .*CONTAINMENT_SALT/);
    expect(pseudonymKeyOf("configured", report)).toBe("configured");
    expect(events).toHaveLength(2);
  });
});
