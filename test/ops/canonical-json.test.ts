import { describe, expect, it } from "vitest";
import { CanonicalJsonError, canonicalJson } from "../../src/ops/audit/canonical.js";

describe("RFC 8785 canonical JSON", () => {
  it("sorts members by UTF-16 code units, recursively, and drops no array item", () => {
    // RFC 8785 §3.2.3 sorting example.
    const input = {
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis",
    };
    const keys = Object.keys(JSON.parse(canonicalJson(input)) as object);
    expect(canonicalJson(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
    expect(keys).toHaveLength(7);
    expect(canonicalJson({ b: [3, { z: 1, a: null }], a: true })).toBe('{"a":true,"b":[3,{"a":null,"z":1}]}');
  });

  it("writes numbers the ECMAScript way the RFC prescribes", () => {
    // RFC 8785 Appendix B samples.
    const cases: Array<[number, string]> = [
      [0, "0"],
      [-0, "0"],
      [1e21, "1e+21"],
      [1e-7, "1e-7"],
      [333333333.3333333, "333333333.3333333"],
      [9007199254740992, "9007199254740992"],
      [295147905179352830000, "295147905179352830000"],
      [5e-324, "5e-324"],
    ];
    for (const [value, text] of cases) expect(canonicalJson(value)).toBe(text);
  });

  it("escapes only what JSON requires in strings", () => {
    expect(canonicalJson('\u0000\u001f"\\/\u007f\u00e9')).toBe('"\\u0000\\u001f\\"\\\\/\u007f\u00e9"');
    expect(canonicalJson("\n\t")).toBe('"\\n\\t"');
  });

  it("refuses what JCS cannot represent", () => {
    expect(() => canonicalJson(Number.NaN)).toThrow(CanonicalJsonError);
    expect(() => canonicalJson(Number.POSITIVE_INFINITY)).toThrow(CanonicalJsonError);
    expect(() => canonicalJson("\ud800")).toThrow(/lone surrogate/);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(CanonicalJsonError);
  });
});
