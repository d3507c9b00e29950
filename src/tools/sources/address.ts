import { BlockList, isIP } from "node:net";

/**
 * Which IP addresses an image URL may reach. A server that fetches URLs for a model or an IDE must not be
 * turned into a proxy into the machine's own network (SSRF): loopback, private ranges, link-local (cloud
 * metadata at 169.254.169.254), carrier-grade NAT, multicast and the reserved ranges are all refused, as are
 * IPv6 forms that embed such an IPv4 address (mapped, SIIT-translated, NAT64, 6to4, Teredo).
 */
interface NamedRange {
  name: string;
  network: string;
  prefix: number;
  family: "ipv4" | "ipv6";
}

const RANGES: readonly NamedRange[] = [
  { name: "unspecified", network: "0.0.0.0", prefix: 8, family: "ipv4" },
  { name: "private", network: "10.0.0.0", prefix: 8, family: "ipv4" },
  { name: "carrier-grade NAT", network: "100.64.0.0", prefix: 10, family: "ipv4" },
  { name: "loopback", network: "127.0.0.0", prefix: 8, family: "ipv4" },
  { name: "link-local", network: "169.254.0.0", prefix: 16, family: "ipv4" },
  { name: "private", network: "172.16.0.0", prefix: 12, family: "ipv4" },
  { name: "IETF protocol assignments", network: "192.0.0.0", prefix: 24, family: "ipv4" },
  { name: "documentation", network: "192.0.2.0", prefix: 24, family: "ipv4" },
  { name: "private", network: "192.168.0.0", prefix: 16, family: "ipv4" },
  { name: "benchmarking", network: "198.18.0.0", prefix: 15, family: "ipv4" },
  { name: "documentation", network: "198.51.100.0", prefix: 24, family: "ipv4" },
  { name: "documentation", network: "203.0.113.0", prefix: 24, family: "ipv4" },
  { name: "multicast", network: "224.0.0.0", prefix: 4, family: "ipv4" },
  { name: "reserved", network: "240.0.0.0", prefix: 4, family: "ipv4" },
  { name: "unspecified", network: "::", prefix: 128, family: "ipv6" },
  { name: "loopback", network: "::1", prefix: 128, family: "ipv6" },
  { name: "unique-local (private)", network: "fc00::", prefix: 7, family: "ipv6" },
  { name: "link-local", network: "fe80::", prefix: 10, family: "ipv6" },
  { name: "site-local", network: "fec0::", prefix: 10, family: "ipv6" },
  { name: "multicast", network: "ff00::", prefix: 8, family: "ipv6" },
  { name: "documentation", network: "2001:db8::", prefix: 32, family: "ipv6" },
  { name: "discard-only", network: "100::", prefix: 64, family: "ipv6" },
  // RFC 8215: a NAT64 prefix for one network's own translators, so what it reaches is that network's inside.
  { name: "local-use NAT64", network: "64:ff9b:1::", prefix: 48, family: "ipv6" },
  // RFC 4380: the client's IPv4 address is carried inverted in the low 32 bits and the tunnel is relayed
  // by whoever answers; nothing a public image host needs, so the whole prefix is refused.
  { name: "Teredo", network: "2001::", prefix: 32, family: "ipv6" },
];

const lists = RANGES.map((range) => {
  const list = new BlockList();
  list.addSubnet(range.network, range.prefix, range.family);
  return { name: range.name, list };
});

/** Strips the brackets a URL puts around an IPv6 host and any zone id ("fe80::1%eth0"). */
function bareAddress(address: string): string {
  const unbracketed = address.startsWith("[") && address.endsWith("]") ? address.slice(1, -1) : address;
  const zone = unbracketed.indexOf("%");
  return zone === -1 ? unbracketed : unbracketed.slice(0, zone);
}

/** Expands an IPv6 address to its 8 16-bit groups; undefined when it is not IPv6. */
function ipv6Groups(address: string): number[] | undefined {
  if (isIP(address) !== 6) return undefined;
  let text = address;
  // A dotted IPv4 tail ("::ffff:1.2.3.4") becomes two hex groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const parts = dotted[1].split(".").map(Number);
    text = `${text.slice(0, dotted.index)}${((parts[0] << 8) | parts[1]).toString(16)}:${((parts[2] << 8) | parts[3]).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const headGroups = head ? head.split(":") : [];
  const tailGroups = tail ? tail.split(":") : [];
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(tail === undefined ? 0 : missing).fill("0"), ...tailGroups];
  return groups.map((group) => Number.parseInt(group, 16));
}

function ipv4FromGroups(high: number, low: number): string {
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
}

/** The IPv4 address an IPv6 address stands for, if it embeds one (mapped, compatible, NAT64, 6to4). */
function embeddedIpv4(address: string): string | undefined {
  const groups = ipv6Groups(address);
  if (!groups) return undefined;
  const zeros = (from: number, to: number) => groups.slice(from, to).every((group) => group === 0);
  if (zeros(0, 5) && groups[5] === 0xffff) return ipv4FromGroups(groups[6], groups[7]); // ::ffff:a.b.c.d
  // SIIT "IPv4-translated" (RFC 2765/6145): ::ffff:0:a.b.c.d reaches a.b.c.d through a translator.
  if (zeros(0, 4) && groups[4] === 0xffff && groups[5] === 0) return ipv4FromGroups(groups[6], groups[7]);
  if (zeros(0, 6) && (groups[6] !== 0 || groups[7] > 1)) return ipv4FromGroups(groups[6], groups[7]); // ::a.b.c.d
  if (groups[0] === 0x64 && groups[1] === 0xff9b && zeros(2, 6)) return ipv4FromGroups(groups[6], groups[7]); // NAT64
  if (groups[0] === 0x2002) return ipv4FromGroups(groups[1], groups[2]); // 6to4
  return undefined;
}

/**
 * Why an address may not be fetched ("loopback", "private", "link-local", ...), or undefined when it is a
 * public unicast address. Anything that is not an IP address at all is refused as "not an IP address".
 */
export function blockedAddressReason(address: string): string | undefined {
  const bare = bareAddress(address);
  const family = isIP(bare);
  if (family === 0) return "not an IP address";
  if (family === 6) {
    const inner = embeddedIpv4(bare);
    if (inner !== undefined) {
      const reason = blockedAddressReason(inner);
      return reason === undefined ? undefined : `${reason} (embedded in IPv6)`;
    }
  }
  const type = family === 4 ? "ipv4" : "ipv6";
  for (const { name, list } of lists) {
    if (list.check(bare, type)) return name;
  }
  return undefined;
}

/** True for a public unicast address that an image URL may reach without --allow-private-urls. */
export function isPublicAddress(address: string): boolean {
  return blockedAddressReason(address) === undefined;
}
