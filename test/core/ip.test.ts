import { describe, expect, it } from "vitest";
import { cidrContains, formatIp, ipBucket, parseCidr, parseIp } from "../../src/core/ip.js";

function ip(text: string) {
  const parsed = parseIp(text);
  if (!parsed) throw new Error(`unparsable ${text}`);
  return parsed;
}

describe("client addresses", () => {
  it("parses IPv4 and rejects look-alikes", () => {
    expect(formatIp(ip("203.0.113.7"))).toBe("203.0.113.7");
    for (const bad of [
      "203.0.113",
      "203.0.113.256",
      "203.0.113.07",
      "1.2.3.4.5",
      "",
      "a.b.c.d",
      "1.2.3.4/24",
    ]) {
      expect(parseIp(bad)).toBeUndefined();
    }
  });

  it("parses IPv6 spelled in different ways to one canonical value", () => {
    expect(formatIp(ip("2001:db8::1"))).toBe(formatIp(ip("2001:0db8:0:0:0:0:0:0001")));
    expect(formatIp(ip("[2001:db8::1]"))).toBe(formatIp(ip("2001:DB8::1")));
    expect(parseIp("2001:db8:::1")).toBeUndefined();
    expect(parseIp("1:2:3:4:5:6:7:8:9")).toBeUndefined();
  });

  it("folds IPv4-mapped IPv6 to IPv4 so one client is one identity", () => {
    expect(ip("::ffff:203.0.113.7")).toEqual(ip("203.0.113.7"));
    expect(ip("::ffff:cb00:7107")).toEqual(ip("203.0.113.7"));
  });

  it("buckets IPv6 by /64 by default so a client cannot rotate through its own prefix", () => {
    expect(ipBucket(ip("2001:db8:1:2:aaaa::1"))).toBe(ipBucket(ip("2001:db8:1:2:bbbb::9")));
    expect(ipBucket(ip("2001:db8:1:2::1"))).not.toBe(ipBucket(ip("2001:db8:1:3::1")));
    expect(ipBucket(ip("203.0.113.7"))).toBe("203.0.113.7");
    expect(ipBucket(ip("203.0.113.7"), 24)).toBe("203.0.113.0/24");
  });

  it("checks CIDR membership for both families and never across them", () => {
    const v4 = parseCidr("203.0.113.0/24");
    const v6 = parseCidr("2001:db8::/32");
    if (!v4 || !v6) throw new Error("cidr");
    expect(cidrContains(v4, ip("203.0.113.200"))).toBe(true);
    expect(cidrContains(v4, ip("203.0.114.1"))).toBe(false);
    expect(cidrContains(v4, ip("::ffff:203.0.113.9"))).toBe(true);
    expect(cidrContains(v6, ip("2001:db8:ffff::1"))).toBe(true);
    expect(cidrContains(v6, ip("203.0.113.1"))).toBe(false);
    expect(parseCidr("203.0.113.0/33")).toBeUndefined();
    expect(parseCidr("203.0.113.0/24/1")).toBeUndefined();
  });
});
