/**
 * The narrative and decisions through the real CLI, the Vercel API stand-in and a real Redis: each
 * missing field is a gap with its command, `incident set|decide|notified|sign-off` fill them, a
 * processor's clock takes the DPA's term, an edit after sign-off starts a version naming the one it
 * replaces, and the signed evidence bundle holds every format and fails `evidence verify` (exit 8)
 * on any edit made after signing.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBundle } from "../../src/cli/report-inputs.js";
import { sha256Hex } from "../../src/core/hash.js";
import { type EdgeConfigServer, startEdgeConfigServer } from "../../src/dev/edge-config-server.js";
import { createSigner, generateSigningKey } from "../../src/ops/audit/index.js";
import { MANIFEST, MANIFEST_SIG, type Manifest } from "../../src/ops/evidence-bundle.js";
import { signManifest } from "../../src/ops/evidence-signatures.js";
import { verifyEvidence } from "../../src/ops/report/evidence.js";
import type { Report } from "../../src/ops/report/model.js";
import { type RedisFixture, startRedisFixture } from "../integration/redis-fixture.js";
import { responderEnv, runCli } from "../support/cli.js";

let ec: EdgeConfigServer;
let redis: RedisFixture;
let cwd: string;
const ID = "INC-31";
const DISCOVERED = "2026-12-01T20:15:07Z";

const env = (): Record<string, string> =>
  responderEnv(ec, redis.connection, { CONTAINMENT_REDIS_PREFIX: "narr:" });
const cli = (args: string[]) => runCli(args, { env: env(), cwd });
const report = async () =>
  JSON.parse((await cli(["report", "--incident", ID, "--format", "json"])).stdout) as Report;

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), "containment-narrative-"));
  const { privateJwk, publicJwks } = await generateSigningKey("carol");
  writeFileSync(join(cwd, "carol.jwk"), JSON.stringify(privateJwk));
  writeFileSync(join(cwd, "responders.jwks.json"), JSON.stringify(publicJwks));
  ec = await startEdgeConfigServer({ items: { containment: { version: 1, rules: [] } } });
  redis = await startRedisFixture();
}, 60_000);
afterAll(async () => {
  await redis?.close();
  await ec?.close();
});

describe("the incident's narrative, decisions and sign-off", { timeout: 240_000 }, () => {
  it("shows every missing field as a gap with its command, and gives a processor the DPA's term", async () => {
    const open = await cli([
      "incident",
      "open",
      ID,
      "--title",
      "Exports",
      "--discovered",
      DISCOVERED,
      "--hipaa-role",
      "business-associate",
      "--gdpr-role",
      "processor",
      "--dpa-term",
      "24h",
      "--json",
    ]);
    expect(open.code).toBe(0);
    const r = await report();
    expect(r.clocks.find((c) => c.id === "gdpr-33.2")?.deadline).toBe("2026-12-02T20:15:07Z");
    const commands = r.narrative.gaps.map((g) => g.command);
    expect(commands).toEqual(
      expect.arrayContaining([
        `containment incident set ${ID} --summary "…"`,
        `containment incident set ${ID} --hipaa-acquired "…"`,
        `containment incident set ${ID} --gdpr-categories "…"`,
        `containment incident set ${ID} --individuals N --individuals-basis "…"`,
        `containment incident decide ${ID} --regime gdpr --notify|--no-notify --reason "…"`,
        `containment incident sign-off ${ID} --sign-key KEY.jwk --yes`,
      ]),
    );
    expect(r.narrative.gaps.map((g) => g.field)).not.toContain("dpaTerm");
  });

  it("refuses bad input with one line naming the flag or the incident file's JSON path, changing nothing", async () => {
    const noReason = await cli(["incident", "set", ID, "--discovered", "2026-12-01T20:00:00Z"]);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr.trim().split("\n")).toHaveLength(1);
    expect(noReason.stderr).toMatch(/--discovered needs --discovery-reason/);
    writeFileSync(join(cwd, "bad.json"), JSON.stringify({ summary: "x", sumary: "typo" }));
    const badFile = await cli(["incident", "set", ID, "--from", "bad.json"]);
    expect(badFile.code).toBe(2);
    expect(badFile.stderr).toMatch(/\$\.sumary is not a field of an incident/);
    writeFileSync(join(cwd, "bad2.json"), JSON.stringify({ individuals: "many" }));
    expect((await cli(["incident", "set", ID, "--from", "bad2.json"])).stderr).toMatch(
      /\$\.individuals must be a whole number/,
    );
    expect((await report()).narrative.text[0]?.value).toBeNull();
  });

  it("records the narrative from flags and an incident file, the decisions and the notification log", async () => {
    writeFileSync(
      join(cwd, "incident.json"),
      JSON.stringify({
        rootCause: "tenant check missing on /export",
        hipaaAcquired: "downloaded by 3 sessions",
        gdprCategories: "patients; export records",
      }),
    );
    const set = await cli([
      "incident",
      "set",
      ID,
      "--from",
      "incident.json",
      "--summary",
      "Exports of acme were readable by any signed-in user",
      "--discovered",
      "2026-12-01T20:02:00Z",
      "--discovery-reason",
      "first anomalous export in the mirror",
      "--individuals",
      "812",
      "--individuals-basis",
      "distinct patient ids in the export logs",
      "--actor",
      "alice",
    ]);
    expect(set.code).toBe(0);
    expect(set.stdout.split("\n")[0]).toMatch(/^set .*--summary.* on INC-31 \(version 1\); audited$/);
    expect(
      (
        await cli([
          "incident",
          "decide",
          ID,
          "--regime",
          "hipaa",
          "--no-notify",
          "--reason",
          "low probability",
        ])
      ).code,
    ).toBe(0);
    expect(
      (
        await cli([
          "incident",
          "notified",
          ID,
          "--to",
          "on-call",
          "--via",
          "pager",
          "--at",
          "2026-12-01T20:16:00Z",
        ])
      ).code,
    ).toBe(0);
    const r = await report();
    expect(r.incident.discovered).toBe("2026-12-01T20:02:00Z");
    expect(r.narrative.discovery).toMatchObject({ reason: "first anomalous export in the mirror" });
    expect(r.narrative.text.find((t) => t.field === "rootCause")?.value).toBe(
      "tenant check missing on /export",
    );
    expect(r.narrative.affected).toMatchObject({ individuals: 812 });
    expect(r.narrative.decisions).toMatchObject([{ regime: "hipaa", decision: "do-not-notify" }]);
    expect(r.narrative.notices).toMatchObject([{ at: "2026-12-01T20:16:00Z", to: "on-call", via: "pager" }]);
    const fields = r.narrative.gaps.map((g) => g.field);
    for (const filled of [
      "summary",
      "rootCause",
      "discoveryReason",
      "individuals",
      "decision.hipaa",
      "notices",
    ])
      expect(fields).not.toContain(filled);
    // Markdown and HTML say the same.
    expect((await cli(["report", "--incident", ID, "--out", "r.md"])).code).toBe(0);
    expect(readFileSync(join(cwd, "r.md"), "utf8")).toContain(
      "- **Root cause:** tenant check missing on /export",
    );
  });

  it("signs off with the responder's key, and an edit after it starts a version naming the one it replaces", async () => {
    const unsigned = await cli(["incident", "sign-off", ID, "--yes"]);
    expect(unsigned.code).toBe(2);
    expect(unsigned.stderr).toMatch(/--sign-key/);
    const signed = await cli(["incident", "sign-off", ID, "--sign-key", "carol.jwk", "--yes", "--json"]);
    expect(signed.code).toBe(0);
    expect(signed.json).toMatchObject({ signoff: { version: 1, kid: "carol" } });
    const before = await report();
    expect(before.narrative.signoffGap).toBeNull();
    expect(before.narrative.signoffs).toMatchObject([{ version: 1, current: true }]);
    expect((await cli(["incident", "set", ID, "--lessons", "test tenant isolation per route"])).code).toBe(0);
    const after = await report();
    expect(after.narrative.version).toBe(2);
    expect(after.narrative.replaces).toEqual({ version: 1, sha256: before.narrative.signoffs[0]?.sha256 });
    expect(after.narrative.signoffs).toMatchObject([{ version: 1, current: false }]);
    expect(after.narrative.signoffGap).not.toBeNull();
    expect((await cli(["incident", "sign-off", ID, "--sign-key", "carol.jwk", "--yes"])).code).toBe(0);
  });

  it("exports every format with the signed sign-offs and manifest, and fails verify on any edit after signing", async () => {
    const exported = await cli([
      "evidence",
      "export",
      "--incident",
      ID,
      "--out",
      "ev",
      "--sign-key",
      "carol.jwk",
    ]);
    expect(exported.code).toBe(0);
    expect(exported.stdout).toMatch(/manifest signed with key carol/);
    const dir = join(cwd, "ev");
    const files = readBundle(dir);
    for (const name of [
      "report.json",
      "report.md",
      "report.html",
      "timeline.ndjson",
      "signoffs.json",
      MANIFEST_SIG,
    ])
      expect(files.has(name)).toBe(true);
    const timeline = (files.get("timeline.ndjson") ?? "")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(timeline.map((t) => t.kind)).toEqual(
      expect.arrayContaining(["notified", "notification-decision", "signed-off"]),
    );
    expect(files.get("report.html")).toContain("Narrative and decisions");

    // --keys would also require every audit entry signed (only some commands here had --sign-key):
    // without it, the signatures are checked against the public keys the bundle names.
    const keys: string[] = [];
    const ok = await cli(["evidence", "verify", dir, ...keys]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/2 sign-off signature\(s\) verify/);
    expect(ok.stdout).toMatch(/note: manifest signature checked against the key inside the bundle \(carol\)/);

    // An edited report: no longer what the signed manifest lists.
    const html = join(dir, "report.html");
    writeFileSync(html, (files.get("report.html") ?? "").replace("Exports of acme", "Nothing of note"));
    const edited = await cli(["evidence", "verify", dir, ...keys]);
    expect(edited.code).toBe(8);
    expect(edited.stderr).toMatch(/report\.html was changed/);
    writeFileSync(html, files.get("report.html") ?? "");
    // An edited manifest: no longer what was signed.
    writeFileSync(
      join(dir, MANIFEST),
      (files.get(MANIFEST) ?? "").replace(/"createdAt": "[^"]+"/, '"createdAt": "2026-01-01T00:00:00Z"'),
    );
    const manifest = await cli(["evidence", "verify", dir, ...keys]);
    expect(manifest.code).toBe(8);
    expect(manifest.stderr).toMatch(/manifest\.json was changed after it was signed/);
    writeFileSync(join(dir, MANIFEST), files.get(MANIFEST) ?? "");
    expect((await cli(["evidence", "verify", dir, ...keys])).code).toBe(0);
  });

  it("fails verify when the incident record was edited in place after sign-off, even with the manifest re-signed", async () => {
    const files = readBundle(join(cwd, "ev"));
    const incident = JSON.parse(files.get("incident.json") ?? "{}");
    incident.summary = "Nothing of note";
    const text = `${JSON.stringify(incident, null, 2)}\n`;
    files.set("incident.json", text);
    // Someone holding the responder's key rebuilds the manifest and signs it again.
    const manifest = JSON.parse(files.get(MANIFEST) ?? "{}") as Manifest;
    for (const f of manifest.files)
      if (f.name === "incident.json")
        Object.assign(f, { sha256: await sha256Hex(text), bytes: Buffer.byteLength(text) });
    const manifestText = `${JSON.stringify(manifest, null, 2)}\n`;
    files.set(MANIFEST, manifestText);
    const signer = await createSigner(JSON.parse(readFileSync(join(cwd, "carol.jwk"), "utf8")));
    files.set(MANIFEST_SIG, JSON.stringify(await signManifest(manifestText, ID, signer, Date.now())));
    const check = await verifyEvidence(files);
    expect(check.ok).toBe(false);
    expect(check.problems).toEqual([
      expect.stringMatching(
        /incident\.json was edited after version 2 was signed off, without a new version/,
      ),
    ]);
  });
});
