/**
 * The hashing helpers every layer shares (src/core/hash.ts), against published test vectors: the
 * isolate-report MAC, decoy hashes, alert signatures and EVALSHA names all rest on them.
 */
import { describe, expect, it } from "vitest";
import { hmacSha256, hmacSha256Key, sha1Hex, sha256Hex, toHex } from "../../src/core/hash.js";

describe("core/hash", () => {
  it("digests as FIPS 180 says (the abc vectors)", async () => {
    expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(await sha1Hex("abc")).toBe("a9993e364706816aba3e25717850c26c9cd0d89d");
  });

  it("MACs as RFC 4231 says (test case 2), from a secret or from a key made once", async () => {
    const expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
    expect(toHex(await hmacSha256("Jefe", "what do ya want for nothing?"))).toBe(expected);
    const key = await hmacSha256Key(new TextEncoder().encode("Jefe"));
    expect(toHex(await hmacSha256(key, "what do ya want for nothing?"))).toBe(expected);
  });
});
