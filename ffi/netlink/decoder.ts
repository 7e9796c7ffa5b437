/**
 * An attribute iterator with a sticky error, in the style of mdlayher's
 * `AttributeDecoder`: advance with `next()`, switch on `type`, read a
 * typed value; the first malformed value stops the loop and is kept in
 * `err`, checked once at the end.
 *
 * @module
 */
import { NLA_F_NESTED, NLA_TYPE_MASK } from "./encoder.ts";

/** Iterates over the netlink attributes in a byte range. */
export class AttributeDecoder {
  readonly #b: Uint8Array;
  readonly #v: DataView;
  #off = 0;
  #type = 0;
  #rawType = 0;
  #data: Uint8Array = new Uint8Array(0);
  #err: Error | undefined;

  constructor(bytes: Uint8Array) {
    this.#b = bytes;
    this.#v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** The first error met, if any. */
  get err(): Error | undefined {
    return this.#err;
  }

  /** The current attribute's type without flag bits. */
  get type(): number {
    return this.#type;
  }

  /** Whether the current attribute carries `NLA_F_NESTED`. */
  get isNested(): boolean {
    return (this.#rawType & NLA_F_NESTED) !== 0;
  }

  /** Moves to the next attribute; false at the end or after an error. */
  next(): boolean {
    if (this.#err) return false;
    if (this.#off + 4 > this.#b.length) return false;
    const len = this.#v.getUint16(this.#off, true);
    if (len < 4 || this.#off + len > this.#b.length) {
      this.#fail(`attribute length ${len} at offset ${this.#off} is invalid`);
      return false;
    }
    this.#rawType = this.#v.getUint16(this.#off + 2, true);
    this.#type = this.#rawType & NLA_TYPE_MASK;
    this.#data = this.#b.subarray(this.#off + 4, this.#off + len);
    this.#off += (len + 3) & ~3;
    return true;
  }

  #fail(msg: string): void {
    this.#err ??= new SyntaxError(`Cannot parse netlink attribute: ${msg}`);
  }

  #need(n: number, what: string): DataView | undefined {
    if (this.#data.length < n) {
      this.#fail(
        `type ${this.#type} has ${this.#data.length} bytes, ${what} needs ${n}`,
      );
      return undefined;
    }
    return new DataView(
      this.#data.buffer,
      this.#data.byteOffset,
      this.#data.byteLength,
    );
  }

  /** The raw payload (a view, copy it to keep it). */
  bytes(): Uint8Array {
    return this.#data;
  }
  /** A copy of the payload. */
  copy(): Uint8Array {
    return this.#data.slice();
  }
  /** A NUL-terminated (or unterminated) string. */
  string(): string {
    const end = this.#data.indexOf(0);
    return new TextDecoder().decode(
      end < 0 ? this.#data : this.#data.subarray(0, end),
    );
  }
  u8(): number {
    return this.#need(1, "u8")?.getUint8(0) ?? 0;
  }
  u16(): number {
    return this.#need(2, "u16")?.getUint16(0, true) ?? 0;
  }
  u16Be(): number {
    return this.#need(2, "u16")?.getUint16(0, false) ?? 0;
  }
  u32(): number {
    return this.#need(4, "u32")?.getUint32(0, true) ?? 0;
  }
  u32Be(): number {
    return this.#need(4, "u32")?.getUint32(0, false) ?? 0;
  }
  i32Be(): number {
    return this.#need(4, "i32")?.getInt32(0, false) ?? 0;
  }
  u64(): bigint {
    return this.#need(8, "u64")?.getBigUint64(0, true) ?? 0n;
  }
  u64Be(): bigint {
    return this.#need(8, "u64")?.getBigUint64(0, false) ?? 0n;
  }

  /** Decodes the current attribute's payload as nested attributes. */
  nested(fn: (d: AttributeDecoder) => void): void {
    const inner = new AttributeDecoder(this.#data);
    fn(inner);
    if (inner.err) this.#err ??= inner.err;
  }
}
