/**
 * The baseline of `npm run bench`: the same one-port listener and Connect
 * adapter as latchkey, serving FlagResolverService.ResolveFlags with a fixed
 * response (captured from latchkey, so both serialize the same bytes) and
 * nothing else: no credential check, no evaluation, no audit.
 */
import { readFileSync } from 'node:fs';
import { fromJson } from '@bufbuild/protobuf';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { FlagResolverService, ResolveFlagsResponseSchema } from '../gen/latchkey/flags/resolver/v1/resolver_service_pb.js';
import { listen } from '../src/server/listener.js';

const fixed = fromJson(ResolveFlagsResponseSchema, JSON.parse(readFileSync(process.env.BARE_RESPONSE_FILE!, 'utf8')));

const handler = connectNodeAdapter({
  routes: (router) => router.service(FlagResolverService, { resolveFlags: () => fixed }),
});

void listen(handler, 0, '127.0.0.1').then((l) => {
  process.stdout.write(`${JSON.stringify({ port: l.port })}\n`);
  process.once('SIGTERM', () => void l.drain(1000).then(() => process.exit(0)));
});
