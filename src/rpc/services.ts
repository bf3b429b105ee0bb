import type { DescService } from '@bufbuild/protobuf';
import { AuditService } from '../../gen/latchkey/audit/v1/audit_service_pb.js';
import { ClientCredentialService } from '../../gen/latchkey/clients/v1/client_credential_service_pb.js';
import { EventService } from '../../gen/latchkey/events/v1/event_service_pb.js';
import { FlagAdminService } from '../../gen/latchkey/flags/admin/v1/flag_admin_service_pb.js';
import { FlagResolverService } from '../../gen/latchkey/flags/resolver/v1/resolver_service_pb.js';
import { ApiClientService } from '../../gen/latchkey/iam/v1/api_client_service_pb.js';
import { AuthService } from '../../gen/latchkey/iam/v1/auth_service_pb.js';
import { Health } from '../../gen/grpc/health/v1/health_pb.js';
import * as reflectionV1 from '../../gen/grpc/reflection/v1/reflection_pb.js';
import * as reflectionV1alpha from '../../gen/grpc/reflection/v1alpha/reflection_pb.js';

/** latchkey's own services (SPEC §2), in the order the README lists them. */
export const LATCHKEY_SERVICES: readonly DescService[] = [
  ApiClientService,
  AuthService,
  ClientCredentialService,
  FlagAdminService,
  FlagResolverService,
  EventService,
  AuditService,
];

/** Infrastructure services served on the same port. */
export const INFRA_SERVICES: readonly DescService[] = [Health, reflectionV1.ServerReflection, reflectionV1alpha.ServerReflection];

export const ALL_SERVICES: readonly DescService[] = [...LATCHKEY_SERVICES, ...INFRA_SERVICES];
