import ipaddr from 'ipaddr.js';

/**
 * `allowed_ip_ranges` (SPEC §3): CIDR ranges, IPv4 and IPv6, "IPv4-mapped
 * IPv6 addresses are normalised". A dual-stack socket reports an IPv4 client
 * as `::ffff:10.0.0.1`; both that address and a range written as
 * `::ffff:10.0.0.0/104` are turned into their IPv4 form, so `10.0.0.0/8`
 * matches the client however the kernel spells it.
 *
 * Parsing is stricter than ipaddr.js on its own, which also accepts the
 * inet_aton forms (`10` = 0.0.0.10, `010.0.0.1` = 8.0.0.1, `0xa.0.0.1`):
 * in an allow-list such a value is almost surely a typo, and it would widen
 * or move the range without anyone noticing.
 */

export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

export interface IpRange {
  readonly kind: 'ipv4' | 'ipv6';
  readonly network: IpAddress;
  readonly prefixLength: number;
  /** Canonical text, e.g. `10.0.0.0/8`, `2001:db8::/32`. */
  readonly text: string;
}

export type IpRanges = readonly IpRange[];

export interface ListViolation {
  index: number;
  description: string;
}

const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);
const IPV6_CHARS = /^[0-9A-Fa-f:.]+$/;
const PREFIX = /^(?:0|[1-9][0-9]{0,2})$/;

/**
 * A strictly written IPv4 or IPv6 address, IPv4-mapped IPv6 turned into IPv4.
 * With `lenient`, as for addresses reported by sockets and proxies, a
 * surrounding `[…]` and an IPv6 zone (`%eth0`) are dropped first.
 */
export function parseIpAddress(text: string, options: { lenient?: boolean } = {}): IpAddress | undefined {
  let s = text;
  if (options.lenient) {
    s = s.trim();
    if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
    const zone = s.indexOf('%');
    if (zone >= 0 && s.includes(':')) s = s.slice(0, zone);
  }
  if (IPV4.test(s)) return ipaddr.IPv4.parse(s);
  if (!s.includes(':') || !IPV6_CHARS.test(s) || !ipaddr.IPv6.isValid(s)) return undefined;
  // An embedded IPv4 tail (`::ffff:1.2.3.4`) must be strict too.
  const tail = s.slice(s.lastIndexOf(':') + 1);
  if (tail.includes('.') && !IPV4.test(tail)) return undefined;
  const v6 = ipaddr.IPv6.parse(s);
  return v6.isIPv4MappedAddress() ? v6.toIPv4Address() : v6;
}

/** Canonical text of an address: dotted IPv4, or RFC 5952 IPv6. */
export function formatIpAddress(address: IpAddress): string {
  return address.kind() === 'ipv4' ? address.toString() : (address as ipaddr.IPv6).toRFC5952String();
}

/** The canonical form of an address string, or undefined when it is not one. */
export function normaliseIpAddress(text: string): string | undefined {
  const parsed = parseIpAddress(text, { lenient: true });
  return parsed && formatIpAddress(parsed);
}

type RangeParse = { ok: true; range: IpRange } | { ok: false; description: string };

export function parseIpRange(entry: string): RangeParse {
  const fail = (description: string): RangeParse => ({ ok: false, description });
  if (entry.length === 0) return fail('empty; write an address or a CIDR range such as 10.0.0.0/8 or 2001:db8::/32');
  if (entry.length > 64 || /\s/.test(entry)) return fail('not an address or CIDR range (no spaces; e.g. 10.0.0.0/8 or 2001:db8::/32)');
  const slash = entry.indexOf('/');
  const addressText = slash < 0 ? entry : entry.slice(0, slash);
  const prefixText = slash < 0 ? undefined : entry.slice(slash + 1);
  const parsed = parseIpAddress(addressText);
  if (!parsed) return fail('not an IPv4 or IPv6 address (write e.g. 10.0.0.0/8 or 2001:db8::/32, decimal IPv4 without leading zeros)');
  const wasMapped = parsed.kind() === 'ipv4' && addressText.includes(':');
  const max = parsed.kind() === 'ipv4' ? 32 : 128;
  let prefixLength: number;
  if (prefixText === undefined) {
    prefixLength = max; // a bare address is a range of one
  } else {
    if (!PREFIX.test(prefixText)) return fail('the prefix length after "/" must be a number');
    prefixLength = Number(prefixText);
    if (wasMapped) {
      // `::ffff:a.b.c.d/p` is the IPv4 range a.b.c.d/(p − 96).
      if (prefixLength < 96 || prefixLength > 128) return fail('an IPv4-mapped range needs a prefix length between 96 and 128 (or write it as IPv4)');
      prefixLength -= 96;
    } else if (prefixLength > max) {
      return fail(`the prefix length of an ${parsed.kind() === 'ipv4' ? 'IPv4' : 'IPv6'} range is at most ${max}`);
    }
  }
  const network = networkOf(parsed, prefixLength);
  const networkText = `${formatIpAddress(network)}/${prefixLength}`;
  // Host bits set (10.0.0.1/8) usually mean a mistyped prefix; say what the range really is.
  if (formatIpAddress(network) !== formatIpAddress(parsed)) return fail(`host bits are set; the range with this prefix is ${networkText}`);
  return { ok: true, range: { kind: network.kind(), network, prefixLength, text: networkText } };
}

function networkOf(address: IpAddress, prefixLength: number): IpAddress {
  const bytes = address.toByteArray();
  for (let bit = prefixLength; bit < bytes.length * 8; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return ipaddr.fromByteArray(bytes);
}

/** Every entry checked; all violations reported at once, by index. */
export function parseIpRanges(list: readonly string[]): { ok: true; ranges: IpRanges } | { ok: false; violations: ListViolation[] } {
  const ranges: IpRange[] = [];
  const violations: ListViolation[] = [];
  list.forEach((entry, index) => {
    const r = parseIpRange(entry);
    if (r.ok) ranges.push(r.range);
    else violations.push({ index, description: r.description });
  });
  return violations.length > 0 ? { ok: false, violations } : { ok: true, ranges };
}

/** Whether a parsed address lies in one of the ranges (an IPv4 address never matches an IPv6 range). */
export function addressInRanges(ranges: IpRanges, address: IpAddress): boolean {
  const kind = address.kind();
  return ranges.some((r) => r.kind === kind && address.match(r.network, r.prefixLength));
}

/**
 * SPEC §3 step 5. An empty list allows any address; with a list set, an
 * address that cannot be parsed is refused (fail closed).
 */
export function ipAllowed(ranges: IpRanges, address: string): boolean {
  if (ranges.length === 0) return true;
  const parsed = parseIpAddress(address, { lenient: true });
  return parsed !== undefined && addressInRanges(ranges, parsed);
}
