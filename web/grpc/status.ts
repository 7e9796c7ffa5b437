/**
 * gRPC status codes (the subset the project's servers answer with) and the
 * error a handler throws to end a call with one.
 *
 * @module
 */

/** gRPC status codes used by the project's servers. */
export const GrpcStatus = {
  OK: 0,
  Canceled: 1,
  Unknown: 2,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  ResourceExhausted: 8,
  Aborted: 10,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
} as const;
export type GrpcStatusName = keyof typeof GrpcStatus;

/** A failed call: status and a message for the client. */
export class GrpcError extends Error {
  constructor(readonly status: GrpcStatusName, message: string) {
    super(message);
  }
}
