import { clientAddress, parseIpRanges, type IpRanges } from '../../../src/credentials/allow-lists.js';

function ranges(list: string[]): IpRanges {
  const r = parseIpRanges(list);
  if (!r.ok) throw new Error(JSON.stringify(r.violations));
  return r.ranges;
}

const proxies = ranges(['10.0.0.0/8', 'fd00::/8']);

describe('clientAddress', () => {
  it('is the socket peer when no proxy is trusted, whatever X-Forwarded-For says', () => {
    expect(clientAddress('203.0.113.9', '198.51.100.1', [])).toBe('203.0.113.9');
    expect(clientAddress('10.0.0.5', '198.51.100.1', [])).toBe('10.0.0.5');
  });

  it('ignores X-Forwarded-For from an untrusted peer', () => {
    expect(clientAddress('203.0.113.9', '198.51.100.1', proxies)).toBe('203.0.113.9');
  });

  it('honours X-Forwarded-For from a trusted proxy: the rightmost untrusted entry is the client', () => {
    expect(clientAddress('10.0.0.5', '198.51.100.1', proxies)).toBe('198.51.100.1');
    // The client wrote "1.1.1.1" itself; our proxies appended 198.51.100.1 and 10.0.0.7.
    expect(clientAddress('10.0.0.5', '1.1.1.1, 198.51.100.1, 10.0.0.7', proxies)).toBe('198.51.100.1');
    expect(clientAddress('10.0.0.5', '1.1.1.1,198.51.100.1,10.0.0.7', proxies)).toBe('198.51.100.1');
  });

  it('when every entry is a trusted proxy, the leftmost is the client', () => {
    expect(clientAddress('10.0.0.5', '10.1.1.1, 10.0.0.7', proxies)).toBe('10.1.1.1');
  });

  it('falls back to the peer on a malformed entry met on the walk, or an empty header', () => {
    expect(clientAddress('10.0.0.5', '198.51.100.1, garbage', proxies)).toBe('10.0.0.5');
    expect(clientAddress('10.0.0.5', '198.51.100.1:4711', proxies)).toBe('10.0.0.5');
    expect(clientAddress('10.0.0.5', '', proxies)).toBe('10.0.0.5');
    expect(clientAddress('10.0.0.5', ' , ', proxies)).toBe('10.0.0.5');
    // Garbage left of the client is never looked at.
    expect(clientAddress('10.0.0.5', 'garbage, 198.51.100.1', proxies)).toBe('198.51.100.1');
  });

  it('normalises IPv4-mapped peers and entries, and handles IPv6', () => {
    expect(clientAddress('::ffff:10.0.0.5', '::ffff:198.51.100.1', proxies)).toBe('198.51.100.1');
    expect(clientAddress('::ffff:203.0.113.9', undefined, proxies)).toBe('203.0.113.9');
    expect(clientAddress('fd00::1', '2001:DB8::7, fd12::3', proxies)).toBe('2001:db8::7');
    expect(clientAddress('fd00::1', '[2001:db8::7]', proxies)).toBe('2001:db8::7');
    expect(clientAddress('2001:db8::9', '198.51.100.1', proxies)).toBe('2001:db8::9');
  });

  it('returns a peer that is not an IP address unchanged', () => {
    expect(clientAddress('', '198.51.100.1', proxies)).toBe('');
  });

  it('answers the same for a peer seen before, and keeps answering past the bound of remembered peers', () => {
    expect(clientAddress('::ffff:10.0.0.5', '198.51.100.1', proxies)).toBe('198.51.100.1');
    expect(clientAddress('::ffff:10.0.0.5', '198.51.100.2', proxies)).toBe('198.51.100.2');
    expect(clientAddress('::ffff:10.0.0.5', undefined, proxies)).toBe('10.0.0.5');
    for (let i = 0; i < 5000; i++) {
      const peer = `::ffff:203.0.${i >> 8}.${i & 255}`;
      expect(clientAddress(peer, undefined, proxies)).toBe(`203.0.${i >> 8}.${i & 255}`);
    }
    expect(clientAddress('::ffff:10.0.0.5', '198.51.100.3', proxies)).toBe('198.51.100.3');
    expect(clientAddress('not-an-ip', undefined, proxies)).toBe('not-an-ip');
    expect(clientAddress('not-an-ip', undefined, proxies)).toBe('not-an-ip');
  });
});
