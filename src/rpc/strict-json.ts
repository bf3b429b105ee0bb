/**
 * Handler options of the management services (SPEC §8: "Management JSON is parsed strictly"):
 * an unknown field or an unknown enum value in a Connect JSON request is INVALID_ARGUMENT naming
 * it (protobuf-es's message, through the parse-failure refusal in errors.ts), never silently
 * dropped or read as "unset". An admin who types `defaultVariantt` learns it at once. The runtime
 * services keep Connect's lenient default: SDKs send fields a given server may not know yet.
 */
export const STRICT_JSON = { jsonOptions: { ignoreUnknownFields: false } } as const;
