import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { blockedAddressReason, isPublicAddress } from "../../../src/tools/sources/address.js";

describe("blockedAddressReason", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["10.0.0.1", "private"],
    ["172.16.5.4", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.1", "private"],
    ["169.254.169.254", "link-local"],
    ["100.64.0.1", "carrier-grade NAT"],
    ["0.0.0.0", "unspecified"],
    ["224.0.0.1", "multicast"],
    ["255.255.255.255", "reserved"],
    ["::1", "loopback"],
    ["::", "unspecified"],
    ["fe80::1", "link-local"],
    ["[fe80::1%25eth0]", "link-local"],
    ["fd12:3456::1", "unique-local (private)"],
    ["::ffff:127.0.0.1", "loopback (embedded in IPv6)"],
    ["::ffff:7f00:1", "loopback (embedded in IPv6)"],
    ["::ffff:a9fe:a9fe", "link-local (embedded in IPv6)"],
    ["64:ff9b::a00:1", "private (embedded in IPv6)"],
    ["2002:c0a8:0101::1", "private (embedded in IPv6)"],
    ["[::1]", "loopback"],
    ["localhost", "not an IP address"],
  ])("refuses %s as %s", (address, reason) => {
    expect(blockedAddressReason(address)).toBe(reason);
  });

  it.each([
    "8.8.8.8",
    "1.1.1.1",
    "172.32.0.1",
    "192.169.0.1",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
  ])("allows public %s", (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });

  it("treats every IPv4 address the same whether plain or IPv4-mapped", () => {
    fc.assert(
      fc.property(fc.ipV4(), (ip) => {
        const plain = blockedAddressReason(ip);
        const mapped = blockedAddressReason(`::ffff:${ip}`);
        expect(mapped === undefined).toBe(plain === undefined);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses every address in 10/8, 127/8 and 192.168/16", () => {
    fc.assert(
      fc.property(fc.constantFrom(10, 127, 192), fc.nat(255), fc.nat(255), fc.nat(255), (a, b, c, d) => {
        const ip = a === 192 ? `192.168.${c}.${d}` : `${a}.${b}.${c}.${d}`;
        expect(isPublicAddress(ip)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
