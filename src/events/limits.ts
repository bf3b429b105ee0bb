/**
 * Bounds on what PublishEvents accepts, so nothing unbounded is stored (SPEC §10).
 *
 * Decisions where the spec is silent:
 * - A batch with any invalid event is refused whole (nothing is stored) and every problem is
 *   listed as a field violation (`events[3].message`), up to MAX_REPORTED_VIOLATIONS. On gRPC the
 *   details travel in the `grpc-status-details-bin` trailer and gRPC core clients (grpcio, C++)
 *   refuse metadata over 8 KiB by default, while 500 bad events could produce thousands of
 *   violations; with 50 the worst case measured 6.7 KiB of trailers. ErrorInfo metadata
 *   `violation_count` gives the full count, and the message names the first few.
 * - A batch over MAX_BATCH_EVENTS is refused with one violation on `events`; its events are not
 *   examined (the caller has to split the batch anyway).
 * - `message` and `sdk` lengths count Unicode code points, so an emoji is one character.
 * - `attributes` size is the UTF-8 length of its compact JSON serialization.
 * - `event_time` may be omitted; the event then happened when it was received.
 * - `message` may be empty (attributes may carry everything).
 */
export const MAX_BATCH_EVENTS = 500;
export const MAX_MESSAGE_CHARS = 4096;
export const MAX_ATTRIBUTES_BYTES = 16 * 1024;
export const MAX_ATTRIBUTE_KEYS = 64;
export const MAX_SDK_CHARS = 128;
/** How far ahead of the server's clock an event_time may be (sender clock skew). */
export const MAX_FUTURE_MS = 5 * 60 * 1000;
/** How far back an event_time may be (SDKs that were offline flush late, but not forever). */
export const MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;
/** Field violations listed in one refusal; the rest are counted. */
export const MAX_REPORTED_VIOLATIONS = 50;
