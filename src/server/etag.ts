import { createHash } from 'node:crypto';
import type { HttpRequest, HttpResponse } from './http-util.js';

/**
 * Conditional GETs for the compatibility routes (OFREP bulk evaluation, Unleash client features,
 * Reflag definitions): a strong ETag computed from the exact body sent, and `304 Not Modified`
 * when the client's `If-None-Match` names it. One mechanism, so every SDK polling latchkey gets
 * the same caching semantics.
 */

/** A strong ETag (RFC 9110 §8.8.3) of a response body: a quoted prefix of its SHA-256. */
export function strongEtag(body: string | Buffer): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
}

/** Whether `If-None-Match` (a list, `*`, weak or strong tags) matches `etag` (weak comparison, as RFC 9110 §13.1.2 wants for it). */
export function ifNoneMatchMatches(header: string | string[] | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const value = Array.isArray(header) ? header.join(',') : header;
  const opaque = etag.replace(/^W\//, '');
  return value.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag.replace(/^W\//, '') === opaque;
  });
}

/** Sends `body` as JSON with its ETag, or 304 with the ETag alone when the client already has it. */
export function sendJsonWithEtag(req: HttpRequest, res: HttpResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  const etag = strongEtag(payload);
  if (ifNoneMatchMatches(req.headers['if-none-match'], etag)) {
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    res.setHeader('etag', etag);
    res.statusCode = 304;
    res.end();
    return;
  }
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader('etag', etag);
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(payload));
  res.statusCode = status;
  res.end(payload);
}
