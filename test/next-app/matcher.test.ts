/**
 * The middleware's `config.matcher`: paths it skips never reach the firewall. A real
 * `next build` of the example with the exclusion matcher Next's docs show must fail, naming the
 * rules it skips and the one-line fix (the example's own catch-all matcher building without such a line is checked on the builds
 * test/next-app/next-app.test.ts makes anyway). The check reads the matchers Next compiled into its
 * manifests, from `withContainment`'s runAfterProductionCompile hook.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { installPackedPackage, nextBuild, nextSuitesRun } from "../support/next-app.js";
import { variantWith } from "./variants.js";

const enabled = nextSuitesRun();
const DOCS_MATCHER = '"/((?!api|_next/static|_next/image|favicon.ico).*)"';

describe.skipIf(!enabled)("next build fails when the middleware matcher skips a rule's path", () => {
  let skipping = "";

  beforeAll(() => {
    installPackedPackage();
    const dir = variantWith("skipping-matcher", {
      edit: { "middleware.ts": (text) => text.replace('matcher: "/:path*"', `matcher: ${DOCS_MATCHER}`) },
    });
    try {
      skipping = `built: ${nextBuild(dir).output}`;
    } catch (error) {
      skipping = (error as Error).message;
    }
  }, 10 * 60_000);

  it("stops the build with the first hole and the one-line fix", () => {
    expect(skipping).toMatch(/^next build failed/);
    expect(skipping).toMatch(
      /path\(s\) skip the firewall, so the build stops .*; export `config = \{ matcher: "\/:path\*" \}`/,
    );
  });

  it("names each rule of containment.rules.json under the skipped /api paths, and the kill-switch risk", () => {
    const lines = skipping.split("\n").filter((line) => line.includes("edge-containment:"));
    expect(lines.join("\n")).toContain(
      "skips /portal/api/patients/x, so rule phi-no-store (/api/patients/**) never applies",
    );
    expect(lines.join("\n")).toContain("so rule reports-limit (/api/reports) never applies");
    expect(lines.join("\n")).toContain("so rule org-binding (/api/orgs/:org/**) never applies");
    expect(lines.join("\n")).toContain("/portal/api/containment-probe: a kill switch pushed");
  });
});
