import type { ConnectRouter } from '@connectrpc/connect';
import { AuthService } from '../../gen/latchkey/iam/v1/auth_service_pb.js';
import type { ApiClients } from '../iam/api-clients.js';

export function registerAuthService(router: ConnectRouter, apiClients: ApiClients): void {
  router.service(AuthService, {
    async requestAccessToken(req) {
      const token = await apiClients.exchange(req.grantType, req.clientId, req.clientSecret);
      return { accessToken: token.accessToken, tokenType: token.tokenType, expiresIn: BigInt(token.expiresIn), scope: '' };
    },
  });
}
