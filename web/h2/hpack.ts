/**
 * HPACK (RFC 7541): a decoder with the dynamic table, and a stateless encoder
 * that never adds to the peer's dynamic table (indexed static entries and
 * literals without indexing), which is all a small gRPC server needs.
 *
 * @module
 */
import { huffmanDecode, HuffmanError } from "./huffman.ts";

/** A header field; names are lower case. */
export type HeaderField = [name: string, value: string];

// deno-fmt-ignore
const STATIC_TABLE: readonly HeaderField[] = [
  [":authority", ""], [":method", "GET"], [":method", "POST"], [":path", "/"],
  [":path", "/index.html"], [":scheme", "http"], [":scheme", "https"],
  [":status", "200"], [":status", "204"], [":status", "206"],
  [":status", "304"], [":status", "400"], [":status", "404"],
  [":status", "500"], ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"], ["accept-language", ""],
  ["accept-ranges", ""], ["accept", ""], ["access-control-allow-origin", ""],
  ["age", ""], ["allow", ""], ["authorization", ""], ["cache-control", ""],
  ["content-disposition", ""], ["content-encoding", ""],
  ["content-language", ""], ["content-length", ""], ["content-location", ""],
  ["content-range", ""], ["content-type", ""], ["cookie", ""], ["date", ""],
  ["etag", ""], ["expect", ""], ["expires", ""], ["from", ""], ["host", ""],
  ["if-match", ""], ["if-modified-since", ""], ["if-none-match", ""],
  ["if-range", ""], ["if-unmodified-since", ""], ["last-modified", ""],
  ["link", ""], ["location", ""], ["max-forwards", ""],
  ["proxy-authenticate", ""], ["proxy-authorization", ""], ["range", ""],
  ["referer", ""], ["refresh", ""], ["retry-after", ""], ["server", ""],
  ["set-cookie", ""], ["strict-transport-security", ""],
  ["transfer-encoding", ""], ["user-agent", ""], ["vary", ""], ["via", ""],
  ["www-authenticate", ""],
];

const STATIC_FULL = new Map<string, number>();
const STATIC_NAME = new Map<string, number>();
STATIC_TABLE.forEach(([name, value], i) => {
  STATIC_FULL.set(`${name}\0${value}`, i + 1);
  if (!STATIC_NAME.has(name)) STATIC_NAME.set(name, i + 1);
});

/** A header block that cannot be decoded: a connection error. */
export class HpackError extends Error {}

// One character per octet, so entry sizes (RFC 7541 §4.1) are exact.
const octets = new TextDecoder("latin1");
const utf8 = new TextEncoder();

/** Decodes header blocks of one connection, in order. */
export class HpackDecoder {
  readonly #dynamic: HeaderField[] = [];
  #size = 0;
  #maxSize: number;
  readonly #limit: number;

  /** `maxTableSize` is the SETTINGS_HEADER_TABLE_SIZE this side announced. */
  constructor(maxTableSize = 4096) {
    this.#maxSize = maxTableSize;
    this.#limit = maxTableSize;
  }

  /**
   * Decodes one complete header block. Stops adding fields (but keeps the
   * table in step) once their total size passes `maxListSize`, and reports
   * that with `tooLarge`.
   */
  decode(
    block: Uint8Array,
    maxListSize = Infinity,
  ): { fields: HeaderField[]; tooLarge: boolean } {
    const fields: HeaderField[] = [];
    let listSize = 0;
    let tooLarge = false;
    let pos = 0;
    let sawField = false;

    const integer = (prefixBits: number): number => {
      if (pos >= block.length) throw new HpackError("truncated integer");
      const max = (1 << prefixBits) - 1;
      let value = block[pos++]! & max;
      if (value < max) return value;
      let shift = 0;
      for (;;) {
        if (pos >= block.length) throw new HpackError("truncated integer");
        const b = block[pos++]!;
        value += (b & 0x7f) * 2 ** shift;
        shift += 7;
        if (value > 0x7fff_ffff) throw new HpackError("integer overflow");
        if ((b & 0x80) === 0) return value;
      }
    };
    const string = (): string => {
      if (pos >= block.length) throw new HpackError("truncated string");
      const huffman = (block[pos]! & 0x80) !== 0;
      const length = integer(7);
      if (pos + length > block.length) {
        throw new HpackError("string runs past the header block");
      }
      const raw = block.subarray(pos, pos + length);
      pos += length;
      try {
        return octets.decode(huffman ? huffmanDecode(raw) : raw);
      } catch (err) {
        if (err instanceof HuffmanError) throw new HpackError(err.message);
        throw err;
      }
    };
    const lookup = (index: number): HeaderField => {
      if (index === 0) throw new HpackError("index 0");
      if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1]!;
      const entry = this.#dynamic[index - STATIC_TABLE.length - 1];
      if (!entry) throw new HpackError(`index ${index} is not in the table`);
      return entry;
    };
    const emit = (field: HeaderField) => {
      listSize += field[0].length + field[1].length + 32;
      if (listSize > maxListSize) tooLarge = true;
      else fields.push(field);
    };

    while (pos < block.length) {
      const b = block[pos]!;
      if (b & 0x80) {
        emit(lookup(integer(7)));
        sawField = true;
      } else if (b & 0x40) {
        const index = integer(6);
        const name = index === 0 ? string() : lookup(index)[0];
        const field: HeaderField = [name, string()];
        this.#insert(field);
        emit(field);
        sawField = true;
      } else if (b & 0x20) {
        if (sawField) {
          throw new HpackError("table size update after a header field");
        }
        const size = integer(5);
        if (size > this.#limit) {
          throw new HpackError(`table size ${size} above ${this.#limit}`);
        }
        this.#maxSize = size;
        this.#evict(0);
      } else {
        // Literal without indexing (0000) or never indexed (0001).
        const index = integer(4);
        const name = index === 0 ? string() : lookup(index)[0];
        emit([name, string()]);
        sawField = true;
      }
    }
    return { fields, tooLarge };
  }

  #insert(field: HeaderField): void {
    const size = field[0].length + field[1].length + 32;
    this.#evict(size);
    if (size <= this.#maxSize) {
      this.#dynamic.unshift(field);
      this.#size += size;
    }
  }

  #evict(room: number): void {
    while (this.#dynamic.length > 0 && this.#size + room > this.#maxSize) {
      const [name, value] = this.#dynamic.pop()!;
      this.#size -= name.length + value.length + 32;
    }
  }
}

function pushInteger(
  out: number[],
  value: number,
  prefixBits: number,
  pattern: number,
): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.push(pattern | value);
    return;
  }
  out.push(pattern | max);
  value -= max;
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
}

function pushString(out: number[], text: string): void {
  const bytes = utf8.encode(text);
  pushInteger(out, bytes.length, 7, 0);
  for (const b of bytes) out.push(b);
}

/**
 * Encodes header fields without touching the dynamic table: the peer's
 * decoder state never changes, so blocks can be cached and reused.
 */
export function encodeHeaders(fields: readonly HeaderField[]): Uint8Array {
  const out: number[] = [];
  for (const [name, value] of fields) {
    const full = STATIC_FULL.get(`${name}\0${value}`);
    if (full !== undefined) {
      pushInteger(out, full, 7, 0x80);
      continue;
    }
    const nameIndex = STATIC_NAME.get(name);
    if (nameIndex !== undefined) {
      pushInteger(out, nameIndex, 4, 0);
    } else {
      out.push(0);
      pushString(out, name);
    }
    pushString(out, value);
  }
  return new Uint8Array(out);
}
