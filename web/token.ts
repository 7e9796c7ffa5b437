/**
 * The bearer token of the mutating API routes, kept in the state directory.
 *
 * @module
 */
import {
  type BoundedText,
  FileReadError,
  readBoundedText,
} from "../core/fs/read_bounded.ts";

/** File name of the token inside the state directory. */
export const TOKEN_FILE = "api-token";

const TOKEN_PATTERN = /^[0-9a-f]{64}$/;

/** The token file exists but does not hold a token. */
export class TokenFileError extends Error {
  constructor(path: string, reason: string) {
    super(
      `Cannot use the API token in "${path}": ${reason}; delete the file and restart the agent to create a new one`,
    );
    this.name = "TokenFileError";
  }
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function readToken(path: string): Promise<string> {
  let read: BoundedText;
  try {
    // Not through a symlink, and never more than a token's worth.
    read = await readBoundedText(path, { noFollow: true, maxBytes: 4096 });
  } catch (e) {
    if (!(e instanceof FileReadError)) throw e;
    if (e.reason === "missing") throw new Deno.errors.NotFound(e.message);
    throw new TokenFileError(path, e.detail);
  }
  const text = read.text.trim();
  if (!TOKEN_PATTERN.test(text)) {
    throw new TokenFileError(path, "it is not 64 lowercase hex digits");
  }
  if ((read.info.mode & 0o077) !== 0) {
    await Deno.chmod(path, 0o600);
  }
  return text;
}

/**
 * Returns the token in `<stateDir>/api-token`, creating it on first use:
 * 32 random bytes as hex, mode 0600, created exclusively so that two
 * starting processes end up with the same token.
 */
export async function loadOrCreateToken(stateDir: string): Promise<string> {
  const path = `${stateDir}/${TOKEN_FILE}`;
  try {
    return await readToken(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  await Deno.mkdir(stateDir, { recursive: true, mode: 0o700 });
  const token = hex(crypto.getRandomValues(new Uint8Array(32)));
  // Written to a private temp file, then published with link(2), which
  // fails if the name exists: a racing process never sees a partial token.
  const tmp = `${path}.${hex(crypto.getRandomValues(new Uint8Array(6)))}`;
  try {
    // Inside the try: a full disk must not leave the temp file behind.
    await Deno.writeTextFile(tmp, token + "\n", {
      createNew: true,
      mode: 0o600,
    });
    await Deno.link(tmp, path);
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) return await readToken(path);
    throw e;
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
  return token;
}

/** Compares two tokens in time that does not depend on where they differ. */
export function tokensEqual(a: string, b: string): boolean {
  const ea = new TextEncoder().encode(a);
  const eb = new TextEncoder().encode(b);
  let diff = ea.length ^ eb.length;
  for (let i = 0; i < Math.max(ea.length, eb.length); i++) {
    diff |= (ea[i] ?? 0) ^ (eb[i] ?? 0);
  }
  return diff === 0;
}
