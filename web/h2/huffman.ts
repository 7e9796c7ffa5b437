/**
 * The HPACK Huffman code (RFC 7541, Appendix B). The code is canonical, so
 * the bit length of each of the 257 symbols (256 octets and EOS) is enough to
 * rebuild every code word.
 *
 * @module
 */

// deno-fmt-ignore
const CODE_LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28,
  28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8,
  11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12,
  10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  8, 7, 8, 13, 19, 13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22,
  22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23,
  21, 22, 23, 22, 23, 23, 24, 22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24,
  21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22,
  23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21,
  26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22,
  21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27,
  27, 28, 27, 27, 27, 27, 27, 26, 30,
];

const EOS = 256;
const MAX_LENGTH = 30;

/**
 * For each bit length: the first code word of that length, how many symbols
 * have it, and where they start in `SYMBOLS` (sorted by length, then value).
 */
const FIRST_CODE = new Array<number>(MAX_LENGTH + 1).fill(0);
const COUNT = new Array<number>(MAX_LENGTH + 1).fill(0);
const OFFSET = new Array<number>(MAX_LENGTH + 1).fill(0);
const SYMBOLS: number[] = [];

{
  for (const len of CODE_LENGTHS) COUNT[len]!++;
  let code = 0;
  let offset = 0;
  for (let len = 1; len <= MAX_LENGTH; len++) {
    FIRST_CODE[len] = code;
    OFFSET[len] = offset;
    code = (code + COUNT[len]!) * 2;
    offset += COUNT[len]!;
  }
  for (let len = 1; len <= MAX_LENGTH; len++) {
    CODE_LENGTHS.forEach((l, sym) => l === len && SYMBOLS.push(sym));
  }
}

/** Thrown for a string that is not valid HPACK Huffman. */
export class HuffmanError extends Error {}

/** Decodes a Huffman-coded HPACK string. */
export function huffmanDecode(input: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil((input.length * 8) / 5));
  let n = 0;
  let code = 0;
  let len = 0;
  for (const byte of input) {
    for (let bit = 7; bit >= 0; bit--) {
      code = code * 2 + ((byte >> bit) & 1);
      len++;
      const index = code - FIRST_CODE[len]!;
      if (index >= 0 && index < COUNT[len]!) {
        const sym = SYMBOLS[OFFSET[len]! + index]!;
        if (sym === EOS) throw new HuffmanError("EOS inside a Huffman string");
        out[n++] = sym;
        code = 0;
        len = 0;
      } else if (len >= MAX_LENGTH) {
        throw new HuffmanError("invalid Huffman code");
      }
    }
  }
  // Padding: at most 7 bits, all ones (the most significant bits of EOS).
  if (len > 7 || code !== (1 << len) - 1) {
    throw new HuffmanError("invalid Huffman padding");
  }
  return out.subarray(0, n);
}

/** Encodes octets with the HPACK Huffman code. */
export function huffmanEncode(input: Uint8Array): Uint8Array {
  let bits = 0;
  for (const b of input) bits += CODE_LENGTHS[b]!;
  const out = new Uint8Array(Math.ceil(bits / 8));
  let acc = 0;
  let accBits = 0;
  let n = 0;
  for (const b of input) {
    const len = CODE_LENGTHS[b]!;
    const code = codeOf(b);
    // Up to 30 bits at a time: push them one byte at a time to stay in range.
    for (let shift = len - 1; shift >= 0; shift--) {
      acc = (acc << 1) | (Math.floor(code / 2 ** shift) & 1);
      if (++accBits === 8) {
        out[n++] = acc;
        acc = 0;
        accBits = 0;
      }
    }
  }
  if (accBits > 0) out[n] = (acc << (8 - accBits)) | ((1 << (8 - accBits)) - 1);
  return out;
}

function codeOf(sym: number): number {
  const len = CODE_LENGTHS[sym]!;
  return FIRST_CODE[len]! + SYMBOLS.indexOf(sym, OFFSET[len]) - OFFSET[len]!;
}
