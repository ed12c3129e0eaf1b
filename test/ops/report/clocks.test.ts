import { describe, expect, it } from "vitest";
import { isoSeconds, regulatoryClocks, yearEndPlusSixtyDays } from "../../../src/ops/report/clocks.js";

const DISCOVERED = Date.parse("2026-12-01T21:48:23.600Z");
const byId = (clocks: ReturnType<typeof regulatoryClocks>) =>
  Object.fromEntries(clocks.map((c) => [c.id, c]));

describe("regulatory notification clocks", () => {
  it("gives a GDPR controller 72 hours to the supervisory authority, to the second", () => {
    const clocks = byId(regulatoryClocks({ discovered: DISCOVERED, gdprRole: "controller" }));
    expect(clocks["gdpr-33.1"]?.deadline).toBe("2026-12-04T21:48:23Z");
    expect(clocks["gdpr-33.1"]?.secondsFromDiscovery).toBe(72 * 3600);
    expect(clocks["gdpr-34"]?.deadline).toBeNull();
    expect(clocks["gdpr-34"]?.applicability).toBe("conditional");
    expect(Object.keys(clocks)).toEqual(["gdpr-33.1", "gdpr-34"]);
  });

  it("gives a GDPR processor the DPA's term, or no fixed deadline without one", () => {
    expect(regulatoryClocks({ discovered: DISCOVERED, gdprRole: "processor" })[0]?.deadline).toBeNull();
    const withDpa = regulatoryClocks({
      discovered: DISCOVERED,
      gdprRole: "processor",
      dpaTermMs: 24 * 3_600_000,
    });
    expect(withDpa[0]).toMatchObject({
      id: "gdpr-33.2",
      deadline: "2026-12-02T21:48:23Z",
      secondsFromDiscovery: 86_400,
    });
  });

  it("gives a covered entity 60 calendar days for individuals, media and (500 or more) HHS", () => {
    const clocks = byId(
      regulatoryClocks({
        discovered: DISCOVERED,
        hipaaRole: "covered-entity",
        individuals: 812,
        maxStateResidents: 640,
      }),
    );
    expect(clocks["hipaa-164.404"]?.deadline).toBe("2027-01-30T21:48:23Z");
    expect(clocks["hipaa-164.408"]?.deadline).toBe("2027-01-30T21:48:23Z");
    expect(clocks["hipaa-164.406"]).toMatchObject({
      deadline: "2027-01-30T21:48:23Z",
      applicability: "applies",
    });
    expect(clocks["hipaa-164.404"]?.secondsFromDiscovery).toBe(60 * 86_400);
  });

  it("moves HHS notice for fewer than 500 individuals to 60 days after the calendar year ends", () => {
    const clocks = byId(
      regulatoryClocks({
        discovered: DISCOVERED,
        hipaaRole: "covered-entity",
        individuals: 12,
        maxStateResidents: 12,
      }),
    );
    // 2027 is not a leap year: 1 January + 60 days = 2 March.
    expect(clocks["hipaa-164.408"]?.deadline).toBe("2027-03-02T00:00:00Z");
    expect(clocks["hipaa-164.406"]).toMatchObject({ deadline: null, applicability: "not-applicable" });
    // A discovery in 2027 ends up in leap year 2028: 1 January + 60 days = 1 March.
    expect(isoSeconds(yearEndPlusSixtyDays(Date.parse("2027-06-01T00:00:00Z")))).toBe("2028-03-01T00:00:00Z");
  });

  it("shows both HHS branches when the responder has not entered the number of individuals", () => {
    const hhs = byId(regulatoryClocks({ discovered: DISCOVERED, hipaaRole: "covered-entity" }))[
      "hipaa-164.408"
    ];
    expect(hhs).toMatchObject({ deadline: null, applicability: "conditional" });
    expect(hhs?.basis).toContain("2027-01-30T21:48:23Z");
    expect(hhs?.basis).toContain("2027-03-02T00:00:00Z");
  });

  it("gives a business associate 60 days to the covered entity, or the BAA's shorter term", () => {
    expect(regulatoryClocks({ discovered: DISCOVERED, hipaaRole: "business-associate" })[0]?.deadline).toBe(
      "2027-01-30T21:48:23Z",
    );
    const baa = regulatoryClocks({
      discovered: DISCOVERED,
      hipaaRole: "business-associate",
      baaTermMs: 10 * 86_400_000,
    });
    expect(baa[0]).toMatchObject({ id: "hipaa-164.410", deadline: "2026-12-11T21:48:23Z" });
    // A BAA term longer than the rule's 60 days does not extend it.
    const longer = regulatoryClocks({
      discovered: DISCOVERED,
      hipaaRole: "business-associate",
      baaTermMs: 90 * 86_400_000,
    });
    expect(longer[0]?.deadline).toBe("2027-01-30T21:48:23Z");
  });

  it("computes no clock without a legal role", () => {
    expect(regulatoryClocks({ discovered: DISCOVERED })).toEqual([]);
  });
});
