import { describe, expect, it } from "vitest";
import { blockedAddressReason, isPublicAddress } from "../../src/tools/sources/address.js";

/**
 * Issue 10: the SSRF classifier called three IPv6 forms public although each reaches a private IPv4 address
 * or a network's own inside: SIIT's IPv4-translated form, the local-use NAT64 prefix and Teredo.
 */
describe("IPv6 forms that reach a private network are refused", () => {
  it.each([
    ["::ffff:0:127.0.0.1", /loopback/],
    ["::ffff:0:10.1.2.3", /private/],
    ["::ffff:0:a9fe:a9fe", /link-local/],
    ["64:ff9b:1::a00:1", /local-use NAT64/],
    ["64:ff9b:1:ffff::808:808", /local-use NAT64/],
    // Teredo: server 65.54.227.120, client 192.168.1.1 (inverted: 3f57:fefe).
    ["2001:0:4136:e378:8000:63bf:3f57:fefe", /Teredo/],
    ["2001::1", /Teredo/],
  ])("%s", (address, reason) => {
    expect(blockedAddressReason(address)).toMatch(reason);
    expect(isPublicAddress(address)).toBe(false);
  });

  it("still allows public addresses next to those prefixes", () => {
    for (const address of ["::ffff:0:8.8.8.8", "64:ff9b::808:808", "2001:4860:4860::8888", "2001:4860:4860::8844"]) {
      expect(isPublicAddress(address), address).toBe(true);
    }
  });
});
