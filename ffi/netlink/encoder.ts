/**
 * A growable little writer for netlink messages and attributes. Integers
 * are host order (little-endian on the machines we target) unless the
 * method name ends in `Be`; attributes are padded to 4 bytes.
 *
 * @module
 */

/** `NLA_F_NESTED`: marks an attribute whose payload is more attributes. */
export const NLA_F_NESTED = 0x8000;
/** `NLA_F_NET_BYTEORDER`. */
export const NLA_F_NET_BYTEORDER = 0x4000;
/** Mask that strips the two flag bits from an attribute type. */
export const NLA_TYPE_MASK = 0x3fff;

/** Rounds up to the netlink alignment of 4 bytes. */
export function align4(n: number): number {
  return (n + 3) & ~3;
}

/** Builds netlink bytes: fixed headers, then (nested) attributes. */
export class NetlinkEncoder {
  #buf = new Uint8Array(128);
  #view = new DataView(this.#buf.buffer);
  #len = 0;

  /** Bytes written so far. */
  get length(): number {
    return this.#len;
  }

  #ensure(n: number): number {
    const at = this.#len;
    const need = at + n;
    if (need > this.#buf.length) {
      let size = this.#buf.length * 2;
      while (size < need) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.#buf.subarray(0, at));
      this.#buf = next;
      this.#view = new DataView(next.buffer);
    }
    this.#len = need;
    return at;
  }

  /** Appends raw bytes (no padding). */
  bytes(b: Uint8Array): this {
    const at = this.#ensure(b.length);
    this.#buf.set(b, at);
    return this;
  }

  /** Appends zero bytes up to the next 4-byte boundary. */
  pad(): this {
    const want = align4(this.#len);
    if (want > this.#len) this.#ensure(want - this.#len);
    return this;
  }

  /** Appends `n` zero bytes. */
  zeros(n: number): this {
    this.#ensure(n);
    return this;
  }

  u8(v: number): this {
    const at = this.#ensure(1);
    this.#view.setUint8(at, v);
    return this;
  }
  u16(v: number): this {
    const at = this.#ensure(2);
    this.#view.setUint16(at, v, true);
    return this;
  }
  u16Be(v: number): this {
    const at = this.#ensure(2);
    this.#view.setUint16(at, v, false);
    return this;
  }
  u32(v: number): this {
    const at = this.#ensure(4);
    this.#view.setUint32(at, v >>> 0, true);
    return this;
  }
  i32(v: number): this {
    const at = this.#ensure(4);
    this.#view.setInt32(at, v, true);
    return this;
  }
  u32Be(v: number): this {
    const at = this.#ensure(4);
    this.#view.setUint32(at, v >>> 0, false);
    return this;
  }
  u64(v: bigint): this {
    const at = this.#ensure(8);
    this.#view.setBigUint64(at, v, true);
    return this;
  }
  u64Be(v: bigint): this {
    const at = this.#ensure(8);
    this.#view.setBigUint64(at, v, false);
    return this;
  }

  /** Overwrites a host-order u32 at an absolute offset. */
  patchU32(offset: number, v: number): void {
    this.#view.setUint32(offset, v >>> 0, true);
  }

  /** Overwrites a host-order u16 at an absolute offset. */
  patchU16(offset: number, v: number): void {
    this.#view.setUint16(offset, v, true);
  }

  /** Appends one attribute whose payload `body` writes. */
  attr(type: number, body: (e: this) => void): this {
    const start = this.#ensure(4);
    this.#view.setUint16(start + 2, type, true);
    body(this);
    const len = this.#len - start;
    if (len > 0xffff) {
      throw new RangeError(
        `Cannot encode netlink attribute ${type}: ${len} bytes exceed 65535`,
      );
    }
    this.#view.setUint16(start, len, true);
    return this.pad();
  }

  /** Appends a nested attribute (`NLA_F_NESTED` set). */
  nested(type: number, body: (e: this) => void): this {
    return this.attr(type | NLA_F_NESTED, body);
  }

  /**
   * Reserves a whole attribute of `payload` bytes (padded) with its header
   * written; returns the payload offset. The fast path for fixed sizes.
   */
  #fixed(type: number, payload: number): number {
    const at = this.#ensure(align4(4 + payload));
    this.#view.setUint16(at, 4 + payload, true);
    this.#view.setUint16(at + 2, type, true);
    return at + 4;
  }

  /** Attribute holding raw bytes. */
  attrBytes(type: number, v: Uint8Array): this {
    const at = this.#fixed(type, v.length);
    this.#buf.set(v, at);
    return this;
  }
  /** Attribute holding a NUL-terminated string. */
  attrString(type: number, v: string): this {
    const bytes = new TextEncoder().encode(v);
    const at = this.#fixed(type, bytes.length + 1);
    this.#buf.set(bytes, at);
    return this;
  }
  /** Attribute with no payload. */
  attrFlag(type: number): this {
    this.#fixed(type, 0);
    return this;
  }
  /** Attribute holding a u8. */
  attrU8(type: number, v: number): this {
    const at = this.#fixed(type, 1);
    this.#view.setUint8(at, v);
    return this;
  }
  /** Attribute holding a host-order u16. */
  attrU16(type: number, v: number): this {
    const at = this.#fixed(type, 2);
    this.#view.setUint16(at, v, true);
    return this;
  }
  /** Attribute holding a big-endian u16. */
  attrU16Be(type: number, v: number): this {
    const at = this.#fixed(type, 2);
    this.#view.setUint16(at, v, false);
    return this;
  }
  /** Attribute holding a host-order u32. */
  attrU32(type: number, v: number): this {
    const at = this.#fixed(type, 4);
    this.#view.setUint32(at, v >>> 0, true);
    return this;
  }
  /** Attribute holding a big-endian u32. */
  attrU32Be(type: number, v: number): this {
    const at = this.#fixed(type, 4);
    this.#view.setUint32(at, v >>> 0, false);
    return this;
  }
  /** Attribute holding a big-endian i32. */
  attrI32Be(type: number, v: number): this {
    const at = this.#fixed(type, 4);
    this.#view.setInt32(at, v | 0, false);
    return this;
  }
  /** Attribute holding a big-endian u64. */
  attrU64Be(type: number, v: bigint): this {
    const at = this.#fixed(type, 8);
    this.#view.setBigUint64(at, v, false);
    return this;
  }

  /** A copy of the bytes written. */
  finish(): Uint8Array<ArrayBuffer> {
    return this.#buf.slice(0, this.#len);
  }
}
