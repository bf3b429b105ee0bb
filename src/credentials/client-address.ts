import { addressInRanges, formatIpAddress, parseIpAddress, type IpAddress, type IpRanges } from './ip-ranges.js';

/**
 * Socket peers repeat (keep-alive connections, a handful of proxies or clients), and parsing an
 * address costs microseconds on every request, so parses are remembered. The map is emptied when
 * it reaches its bound, which only many distinct peers can do.
 */
const peers = new Map<string, { address: IpAddress; text: string } | null>();
const MAX_REMEMBERED_PEERS = 4096;

function parsePeer(peer: string): { address: IpAddress; text: string } | null {
  let parsed = peers.get(peer);
  if (parsed === undefined) {
    const address = parseIpAddress(peer, { lenient: true });
    parsed = address ? { address, text: formatIpAddress(address) } : null;
    if (peers.size >= MAX_REMEMBERED_PEERS) peers.clear();
    peers.set(peer, parsed);
  }
  return parsed;
}

/**
 * The client address of a request (SPEC §3: "The client address is the
 * socket's peer; `X-Forwarded-For` is honoured only from proxies listed in
 * the server's configuration").
 *
 * The usual right-to-left walk: every proxy appends the address it received
 * the request from, so only the entries added by our own (trusted) proxies
 * are believable. Starting from the right, skip trusted proxies; the first
 * untrusted address is the client. Anything left of it could have been
 * written by the client itself and is ignored. If every entry is a trusted
 * proxy, the leftmost one is the client (a request from inside).
 *
 * A malformed entry met on the walk means the chain cannot be trusted, so
 * the answer falls back to the peer: an allow-list then sees the proxy,
 * which fails closed rather than letting a forged header pick an address.
 *
 * The result is normalised (IPv4-mapped IPv6 becomes IPv4, RFC 5952 IPv6).
 */
export function clientAddress(peer: string, forwardedFor: string | undefined, trustedProxies: IpRanges): string {
  const parsedPeer = parsePeer(peer);
  if (!parsedPeer) return peer; // not an IP (e.g. a Unix socket path): nothing to normalise
  const { address: peerAddress, text: peerText } = parsedPeer;
  if (forwardedFor === undefined || trustedProxies.length === 0 || !addressInRanges(trustedProxies, peerAddress)) return peerText;
  // Several X-Forwarded-For headers arrive joined by commas, which is the same list.
  const entries = forwardedFor.split(',').map((e) => e.trim());
  if (entries.length > 64) return peerText; // longer than any real proxy chain
  let leftmost: string | undefined;
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i]!;
    if (entry === '' && entries.length === 1) return peerText; // an empty header
    const parsed = parseIpAddress(entry, { lenient: true });
    if (!parsed) return peerText;
    if (!addressInRanges(trustedProxies, parsed)) return formatIpAddress(parsed);
    leftmost = formatIpAddress(parsed);
  }
  return leftmost ?? peerText;
}
