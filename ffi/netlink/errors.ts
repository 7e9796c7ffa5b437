/**
 * Typed netlink errors: one {@linkcode NetlinkError} carrying the operation,
 * the errno and the kernel's extended-ACK text, plus catchable subclasses
 * for the conditions callers branch on.
 *
 * @module
 */

const ERRNO: Record<number, [string, string]> = {
  1: ["EPERM", "Operation not permitted"],
  2: ["ENOENT", "No such file or directory"],
  3: ["ESRCH", "No such process"],
  4: ["EINTR", "Interrupted system call"],
  5: ["EIO", "Input/output error"],
  6: ["ENXIO", "No such device or address"],
  7: ["E2BIG", "Argument list too long"],
  9: ["EBADF", "Bad file descriptor"],
  11: ["EAGAIN", "Resource temporarily unavailable"],
  12: ["ENOMEM", "Cannot allocate memory"],
  13: ["EACCES", "Permission denied"],
  14: ["EFAULT", "Bad address"],
  16: ["EBUSY", "Device or resource busy"],
  17: ["EEXIST", "File exists"],
  19: ["ENODEV", "No such device"],
  22: ["EINVAL", "Invalid argument"],
  24: ["EMFILE", "Too many open files"],
  28: ["ENOSPC", "No space left on device"],
  34: ["ERANGE", "Numerical result out of range"],
  39: ["ENOTEMPTY", "Directory not empty"],
  61: ["ENODATA", "No data available"],
  71: ["EPROTO", "Protocol error"],
  75: ["EOVERFLOW", "Value too large for defined data type"],
  90: ["EMSGSIZE", "Message too long"],
  93: ["EPROTONOSUPPORT", "Protocol not supported"],
  95: ["EOPNOTSUPP", "Operation not supported"],
  97: ["EAFNOSUPPORT", "Address family not supported by protocol"],
  98: ["EADDRINUSE", "Address already in use"],
  99: ["EADDRNOTAVAIL", "Cannot assign requested address"],
  105: ["ENOBUFS", "No buffer space available"],
  110: ["ETIMEDOUT", "Connection timed out"],
  524: ["ENOTSUPP", "Operation is not supported"],
};

/** The symbolic name of an errno (`EEXIST`), or `errno N` when unknown. */
export function errnoName(errno: number): string {
  return ERRNO[errno]?.[0] ?? `errno ${errno}`;
}

/** The C library's description of an errno. */
export function errnoText(errno: number): string {
  return ERRNO[errno]?.[1] ?? "Unknown error";
}

/** Details of a {@linkcode NetlinkError}. */
export interface NetlinkErrorInit {
  /** What was being done, e.g. `add route 10.0.0.0/8 table 180`. */
  operation: string;
  /** Positive errno (0 when the failure is not a kernel errno). */
  errno: number;
  /** Kernel extended-ACK message, when the kernel sent one. */
  extAckMessage?: string;
  /** Byte offset of the offending attribute in the request, when sent. */
  extAckOffset?: number;
  /** Underlying error. */
  cause?: unknown;
}

/** A failed netlink operation. */
export class NetlinkError extends Error {
  /** What was being done. */
  readonly operation: string;
  /** Positive errno. */
  readonly errno: number;
  /** `EEXIST`, `ENOENT`, ... */
  readonly errnoName: string;
  /** Kernel extended-ACK message ("" when none). */
  readonly extAckMessage: string;
  /** Offset of the offending attribute, or -1. */
  readonly extAckOffset: number;

  constructor(init: NetlinkErrorInit) {
    const name = errnoName(init.errno);
    const ext = init.extAckMessage ? `: ${init.extAckMessage}` : "";
    super(
      `Cannot ${init.operation}: ${name} (${errnoText(init.errno)})${ext}`,
      init.cause === undefined ? undefined : { cause: init.cause },
    );
    this.name = "NetlinkError";
    this.operation = init.operation;
    this.errno = init.errno;
    this.errnoName = name;
    this.extAckMessage = init.extAckMessage ?? "";
    this.extAckOffset = init.extAckOffset ?? -1;
  }
}

/** The object does not exist (ENOENT, ENODEV, ESRCH, EADDRNOTAVAIL). */
export class NotFoundError extends NetlinkError {
  constructor(init: NetlinkErrorInit) {
    super(init);
    this.name = "NotFoundError";
  }
}

/** The object already exists (EEXIST). */
export class ExistsError extends NetlinkError {
  constructor(init: NetlinkErrorInit) {
    super(init);
    this.name = "ExistsError";
  }
}

/** The caller lacks a capability (EPERM, EACCES): run as root or with CAP_NET_ADMIN. */
export class PermissionError extends NetlinkError {
  constructor(init: NetlinkErrorInit) {
    super(init);
    this.name = "PermissionError";
  }
}

/** Builds the most specific error class for an errno. */
export function netlinkError(init: NetlinkErrorInit): NetlinkError {
  switch (init.errno) {
    case 2:
    case 3:
    case 19:
    case 99:
      return new NotFoundError(init);
    case 17:
      return new ExistsError(init);
    case 1:
    case 13:
      return new PermissionError(init);
    default:
      return new NetlinkError(init);
  }
}
