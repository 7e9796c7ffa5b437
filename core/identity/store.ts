import { parse, stringify } from "yaml";
import {
  generatePrivateKey,
  parseKey,
  publicKeyOf,
  type WgKey,
} from "./keys.ts";
import { isRecord as isMap } from "../encoding/record.ts";

/** File name KubeSpan uses for the key pair, kept for compatibility. */
export const IDENTITY_FILE = "kubespan-identity.yaml";
/** File holding the persisted node id. */
export const NODE_ID_FILE = "node-identity.yaml";

/** The identity file could not be used; the message says what to do. */
export class IdentityError extends Error {
  readonly file: string;
  constructor(file: string, message: string, options?: ErrorOptions) {
    super(`Cannot use identity file "${file}": ${message}`, options);
    this.name = "IdentityError";
    this.file = file;
  }
}

/** The persisted key pair (address and subnet are recomputed at every start). */
export interface StoredKeyPair {
  privateKey: WgKey;
  publicKey: WgKey;
}

async function ensureStateDir(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
}

/**
 * Writes `text` to `file` only if it does not exist yet, with mode 0600, and
 * never leaves a half-written file behind: the content goes to a temporary
 * file first and is hard-linked into place, which fails if `file` exists.
 * Returns false when another writer got there first.
 */
export async function createExclusive(
  file: string,
  text: string,
): Promise<boolean> {
  const tmp = `${file}.tmp-${crypto.randomUUID()}`;
  const f = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
  try {
    await f.write(new TextEncoder().encode(text));
    await f.syncData();
  } finally {
    f.close();
  }
  try {
    await Deno.link(tmp, file);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) return false;
    throw e;
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
}

async function readPrivateFile(file: string): Promise<string | undefined> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new IdentityError(file, (e as Error).message, { cause: e });
  }
  if (!info.isFile) throw new IdentityError(file, "it is not a regular file");
  const mode = (info.mode ?? 0) & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new IdentityError(
      file,
      `it is readable by other users (mode ${
        mode.toString(8).padStart(4, "0")
      }); ` +
        `the private key may have leaked. Run "chmod 600 ${file}" if you are sure it has not, ` +
        `or delete it to create a new key pair`,
    );
  }
  return await Deno.readTextFile(file);
}

function decodeKeyPair(file: string, text: string): StoredKeyPair {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new IdentityError(
      file,
      `it is not valid YAML (${
        (e as Error).message.split("\n")[0]
      }); restore it from a backup or delete it to create a new key pair`,
    );
  }
  if (
    !isMap(doc) || typeof doc.privateKey !== "string" || doc.privateKey === ""
  ) {
    throw new IdentityError(
      file,
      "it has no privateKey; restore it from a backup or delete it to create a new key pair",
    );
  }
  let privateKey: WgKey;
  try {
    privateKey = parseKey(doc.privateKey);
  } catch (e) {
    throw new IdentityError(
      file,
      `privateKey is invalid (${(e as Error).message})`,
    );
  }
  const publicKey = publicKeyOf(privateKey);
  if (
    doc.publicKey !== undefined && doc.publicKey !== null &&
    doc.publicKey !== "" && doc.publicKey !== publicKey
  ) {
    throw new IdentityError(
      file,
      "publicKey does not match privateKey; the file was edited or corrupted",
    );
  }
  return { privateKey, publicKey };
}

/**
 * Loads the key pair from `<stateDir>/kubespan-identity.yaml`, or creates it
 * (mode 0600, exclusive create) on first start. A corrupt or world-readable
 * file is an error: a silent new key would split the node off the mesh.
 */
export async function loadOrCreateKeyPair(
  stateDir: string,
  derived: { address: string; subnet: string },
): Promise<StoredKeyPair> {
  const file = `${stateDir}/${IDENTITY_FILE}`;
  await ensureStateDir(stateDir);
  for (let attempt = 0; attempt < 2; attempt++) {
    const text = await readPrivateFile(file);
    if (text !== undefined) return decodeKeyPair(file, text);
    const privateKey = generatePrivateKey();
    const pair = { privateKey, publicKey: publicKeyOf(privateKey) };
    const yaml = stringify({
      address: derived.address,
      subnet: derived.subnet,
      ...pair,
    });
    if (await createExclusive(file, yaml)) return pair;
    // Lost a race with another process creating it; read theirs.
  }
  throw new IdentityError(file, "it keeps disappearing while being read");
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Base62 text of a big-endian number, as node ids are written. */
export function base62(bytes: Uint8Array): string {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  let out = "";
  while (n > 0n) {
    out = BASE62[Number(n % 62n)] + out;
    n /= 62n;
  }
  return out || "0";
}

/** Loads or creates the persisted node id (base62 of 32 random bytes). */
export async function loadOrCreateNodeId(stateDir: string): Promise<string> {
  const file = `${stateDir}/${NODE_ID_FILE}`;
  await ensureStateDir(stateDir);
  for (let attempt = 0; attempt < 2; attempt++) {
    let text: string | undefined;
    try {
      text = await Deno.readTextFile(file);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        throw new IdentityError(file, (e as Error).message);
      }
    }
    if (text !== undefined) {
      const doc = parse(text) as unknown;
      if (
        !isMap(doc) || typeof doc.nodeId !== "string" ||
        !/^[0-9A-Za-z]{1,64}$/.test(doc.nodeId)
      ) {
        throw new IdentityError(
          file,
          "it has no valid nodeId; delete it to create a new node id",
        );
      }
      return doc.nodeId;
    }
    const nodeId = base62(crypto.getRandomValues(new Uint8Array(32)));
    if (await createExclusive(file, stringify({ nodeId }))) return nodeId;
  }
  throw new IdentityError(file, "it keeps disappearing while being read");
}
