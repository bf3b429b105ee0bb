/**
 * The allow-lists of a credential (SPEC §3 steps 5 and 6) and the client
 * address they are checked against. One module per concept; this file gathers
 * them for the validation pipeline.
 */
export {
  parseIpRanges,
  parseIpRange,
  parseIpAddress,
  normaliseIpAddress,
  formatIpAddress,
  ipAllowed,
  addressInRanges,
  type IpAddress,
  type IpRange,
  type IpRanges,
  type ListViolation,
} from './ip-ranges.js';
export { parseOrigins, parseOrigin, originAllowed, type OriginPattern, type OriginPatterns } from './origins.js';
export { clientAddress } from './client-address.js';
