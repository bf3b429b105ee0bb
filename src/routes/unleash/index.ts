/**
 * The Unleash compatibility routes (SPEC §6): the client API for server SDKs and the frontend API
 * for browser and mobile SDKs. See client-api.ts, frontend-api.ts and translate.ts.
 */
import type { CredentialValidator } from '../../client-credentials/validator.js';
import type { FlagResolver } from '../../resolver/flag-resolver.js';
import type { PlainRoute } from '../../server/plain-routes.js';
import { unleashClientRoutes } from './client-api.js';
import { unleashFrontendRoutes } from './frontend-api.js';

export function unleashRoutes(validator: CredentialValidator, resolver: FlagResolver): PlainRoute[] {
  return [...unleashClientRoutes(validator, resolver), ...unleashFrontendRoutes(validator, resolver)];
}
