import { ipAllowed, normaliseIpAddress, parseIpRanges, type IpRanges } from '../../../src/credentials/allow-lists.js';

function ranges(list: string[]): IpRanges {
  const r = parseIpRanges(list);
  if (!r.ok) throw new Error(JSON.stringify(r.violations));
  return r.ranges;
}

describe('parseIpRanges', () => {
  it('accepts IPv4 and IPv6 CIDR ranges; a bare address is /32 or /128', () => {
    expect(ranges(['10.0.0.0/8', '192.168.1.7', '2001:db8::/32', '::1', '0.0.0.0/0', '::/0']).map((r) => r.text)).toEqual([
      '10.0.0.0/8',
      '192.168.1.7/32',
      '2001:db8::/32',
      '::1/128',
      '0.0.0.0/0',
      '::/0',
    ]);
  });

  it('writes IPv6 in canonical form and IPv4-mapped ranges as IPv4', () => {
    expect(ranges(['2001:DB8:0:0::/64', '::ffff:10.0.0.0/104', '::ffff:192.168.1.7']).map((r) => r.text)).toEqual([
      '2001:db8::/64',
      '10.0.0.0/8',
      '192.168.1.7/32',
    ]);
  });

  it('reports every bad entry by index', () => {
    expect(parseIpRanges(['10.0.0.0/8', 'nonsense', '10.0.0.1/8', '1.2.3.4/33', '010.0.0.1', '10', '2001:db8::/129', ' 10.0.0.0/8', '', 'fe80::1%eth0', '::ffff:1.2.3.4/64'])).toEqual({
      ok: false,
      violations: [
        { index: 1, description: 'not an IPv4 or IPv6 address (write e.g. 10.0.0.0/8 or 2001:db8::/32, decimal IPv4 without leading zeros)' },
        { index: 2, description: 'host bits are set; the range with this prefix is 10.0.0.0/8' },
        { index: 3, description: 'the prefix length of an IPv4 range is at most 32' },
        { index: 4, description: 'not an IPv4 or IPv6 address (write e.g. 10.0.0.0/8 or 2001:db8::/32, decimal IPv4 without leading zeros)' },
        { index: 5, description: 'not an IPv4 or IPv6 address (write e.g. 10.0.0.0/8 or 2001:db8::/32, decimal IPv4 without leading zeros)' },
        { index: 6, description: 'the prefix length of an IPv6 range is at most 128' },
        { index: 7, description: 'not an address or CIDR range (no spaces; e.g. 10.0.0.0/8 or 2001:db8::/32)' },
        { index: 8, description: 'empty; write an address or a CIDR range such as 10.0.0.0/8 or 2001:db8::/32' },
        { index: 9, description: 'not an IPv4 or IPv6 address (write e.g. 10.0.0.0/8 or 2001:db8::/32, decimal IPv4 without leading zeros)' },
        { index: 10, description: 'an IPv4-mapped range needs a prefix length between 96 and 128 (or write it as IPv4)' },
      ],
    });
  });

  it('an empty list is valid', () => {
    expect(parseIpRanges([])).toEqual({ ok: true, ranges: [] });
  });
});

describe('ipAllowed', () => {
  it('an empty list allows any address', () => {
    expect(ipAllowed([], '203.0.113.9')).toBe(true);
    expect(ipAllowed([], 'not an address')).toBe(true);
  });

  it('matches IPv4 ranges', () => {
    const r = ranges(['10.0.0.0/8', '192.168.1.7']);
    expect(ipAllowed(r, '10.1.2.3')).toBe(true);
    expect(ipAllowed(r, '11.0.0.1')).toBe(false);
    expect(ipAllowed(r, '192.168.1.7')).toBe(true);
    expect(ipAllowed(r, '192.168.1.8')).toBe(false);
  });

  it('normalises IPv4-mapped IPv6 addresses: ::ffff:10.0.0.1 is in 10.0.0.0/8', () => {
    const r = ranges(['10.0.0.0/8']);
    expect(ipAllowed(r, '::ffff:10.0.0.1')).toBe(true);
    expect(ipAllowed(r, '::FFFF:0a00:0001')).toBe(true);
    expect(ipAllowed(r, '::ffff:11.0.0.1')).toBe(false);
    expect(ipAllowed(ranges(['::ffff:10.0.0.0/104']), '10.9.9.9')).toBe(true);
  });

  it('matches IPv6 ranges, never across families', () => {
    const r = ranges(['2001:db8::/32', '::1']);
    expect(ipAllowed(r, '2001:db8:1::42')).toBe(true);
    expect(ipAllowed(r, '[2001:db8::1]')).toBe(true);
    expect(ipAllowed(r, 'fe80::1%eth0')).toBe(false);
    expect(ipAllowed(r, '::1')).toBe(true);
    expect(ipAllowed(r, '127.0.0.1')).toBe(false);
    expect(ipAllowed(ranges(['::/0']), '10.0.0.1')).toBe(false);
    expect(ipAllowed(ranges(['0.0.0.0/0']), '::1')).toBe(false);
  });

  it('refuses what is not an address when a list is set (fail closed)', () => {
    const r = ranges(['0.0.0.0/0', '::/0']);
    for (const a of ['', 'localhost', '10', '010.0.0.1', '1.2.3.4:80', '/tmp/socket']) expect(ipAllowed(r, a)).toBe(false);
  });

  it('normaliseIpAddress gives the canonical text', () => {
    expect(normaliseIpAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(normaliseIpAddress('2001:DB8:0::1')).toBe('2001:db8::1');
    expect(normaliseIpAddress('[::1]')).toBe('::1');
    expect(normaliseIpAddress('nope')).toBeUndefined();
  });
});
