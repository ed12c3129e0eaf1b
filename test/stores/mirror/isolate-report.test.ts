/**
 * The isolate report's stored bytes (src/stores/mirror/isolate-report.ts) are a contract between the
 * edge and every reader of another version: the canonical JSON and the MAC must not drift, so the
 * expected strings are pinned here rather than recomputed.
 */
import { describe, expect, it } from "vitest";
import {
  type IsolateReport,
  parseReport,
  serializeReport,
  verifyReport,
} from "../../../src/stores/mirror/isolate-report.js";

const REPORT: IsolateReport = {
  v: 1,
  region: "fra1",
  isolate: "i-\u00e9",
  seq: 7,
  at: 1_767_268_800_000,
  digest: "3f0c9a1b2c3d4e5f",
  switches: ["exports@2", "admin@0"],
  fast: ["orders@1"],
};
const BODY =
  '"at":1767268800000,"digest":"3f0c9a1b2c3d4e5f","fast":["orders@1"],"isolate":"i-é","region":"fra1","seq":7,"switches":["exports@2","admin@0"],"v":1';

describe("the isolate report's stored form", () => {
  it("is canonical JSON, keys sorted, list order kept; without a secret it has no mac", async () => {
    expect(await serializeReport(REPORT, undefined)).toBe(`{${BODY}}`);
  });

  it("carries the same MAC as before for production and for a preview, and verifies only with its environment", async () => {
    const production = await serializeReport(REPORT, "s3cret");
    expect(production).toBe(
      '{"at":1767268800000,"digest":"3f0c9a1b2c3d4e5f","fast":["orders@1"],"isolate":"i-é","mac":"_XIuVo8LRbERFJ1LpOQqTJuDwJnKOidNO9hp1wBYS_Y","region":"fra1","seq":7,"switches":["exports@2","admin@0"],"v":1}',
    );
    const preview = await serializeReport(REPORT, "s3cret", "preview");
    expect(JSON.parse(preview).mac).toBe("ZRvMOWj_1ywA9SWDUxLVYEJBb-Q59xbat9qPR4A1WEI");
    const parsed = parseReport(production) as IsolateReport;
    expect(await verifyReport(parsed, "s3cret")).toBe("verified");
    expect(await verifyReport(parsed, "s3cret", "preview")).toBe("bad-mac");
    expect(await verifyReport(parsed, "other")).toBe("bad-mac");
    expect(await verifyReport({ ...parsed, mac: `${parsed.mac}x` }, "s3cret")).toBe("bad-mac");
    expect(await verifyReport(parsed, undefined)).toBe("no-secret");
    expect(await verifyReport(REPORT, "s3cret")).toBe("unsigned");
  });
});
