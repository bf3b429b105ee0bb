import type { DescService } from '@bufbuild/protobuf';
import { createClient, type Client } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import type { TestServer } from './server.js';

export const BOOTSTRAP = { clientId: 'ci-admin', secret: 'ci-admin-secret-0123456789' } as const;
export const BOOTSTRAP_CONFIG = { bootstrapClientId: BOOTSTRAP.clientId, bootstrapClientSecret: BOOTSTRAP.secret };

export function connectClient<S extends DescService>(server: Pick<TestServer, 'baseUrl'>, service: S, headers: Record<string, string> = {}): Client<S> {
  return createClient(
    service,
    createConnectTransport({
      baseUrl: server.baseUrl,
      httpVersion: '1.1',
      interceptors: [
        (next) => (req) => {
          for (const [k, v] of Object.entries(headers)) req.header.set(k, v);
          return next(req);
        },
      ],
    }),
  );
}

export async function requestToken(server: Pick<TestServer, 'baseUrl'>, clientId: string, secret: string): Promise<string> {
  const res = await fetch(`${server.baseUrl}/v1/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }).toString(),
  });
  const body = (await res.json()) as { access_token?: string };
  if (res.status !== 200 || !body.access_token) throw new Error(`token exchange failed: ${res.status} ${JSON.stringify(body)}`);
  return body.access_token;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
export const basic = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` });

/** A clock tests move by hand. */
export class TestClock {
  constructor(private t = new Date('2026-11-23T10:00:00.000Z').getTime()) {}
  now = (): Date => new Date(this.t);
  advance(ms: number): void {
    this.t += ms;
  }
}
