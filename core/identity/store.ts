/**
 * Keeps the identity in the state directory: key and node-id files read
 * without following symlinks, owner and mode checked, written atomically.
 *
 * @module
 */
import { parse, stringify } from "yaml";
import {
  derivePublicKey,
  generatePrivateKey,
  parseKey,
  type WgKey,
} from "./keys.ts";
import { isRecord as isMap } from "../encoding/record.ts";
import {
  type BoundedText,
  FileReadError,
  readBoundedText,
} from "../fs/read_bounded.ts";

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

/** Largest identity file read: a real one is about 200 bytes. */
const MAX_IDENTITY_BYTES = 64 << 10;

/** What to do about a write error, by its errno text. */
function writeHint(e: unknown, where: string): string {
  const message = (e as Error).message;
  if (/os error 28\b|ENOSPC|no space/i.test(message)) {
    return `${message}; free space on the file system of "${where}" or set node.stateDir to another directory`;
  }
  if (/os error 122\b|EDQUOT|quota/i.test(message)) {
    return `${message}; raise the disk quota or set node.stateDir to another directory`;
  }
  if (e instanceof Deno.errors.PermissionDenied) {
    return `${message}; run edgespan as a user that may write "${where}" or set node.stateDir to another directory`;
  }
  if (/os error 30\b|read-only/i.test(message)) {
    return `${message}; set node.stateDir to a writable directory`;
  }
  return message;
}

async function ensureStateDir(dir: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) {
      throw new IdentityError(
        dir,
        `cannot create the state directory: ${writeHint(e, dir)}`,
        { cause: e },
      );
    }
  }
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (e) {
    throw new IdentityError(dir, (e as Error).message, { cause: e });
  }
  if (!info.isDirectory) {
    throw new IdentityError(
      dir,
      "node.stateDir is not a directory; set it to a directory such as /var/lib/edgespan",
    );
  }
}

async function writeAll(f: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.length;) {
    done += await f.write(bytes.subarray(done));
  }
}

/**
 * Writes `text` to `file` only if it does not exist yet, with mode 0600, and
 * never leaves a half-written file behind: the content goes to a temporary
 * file first and is hard-linked into place, which fails if `file` exists.
 * The temporary file is removed on every path, also when the disk is full.
 * Returns false when another writer got there first.
 */
export async function createExclusive(
  file: string,
  text: string,
): Promise<boolean> {
  const tmp = `${file}.tmp-${crypto.randomUUID()}`;
  const dir = file.slice(0, file.lastIndexOf("/")) || "/";
  try {
    const f = await Deno.open(tmp, {
      write: true,
      createNew: true,
      mode: 0o600,
    });
    try {
      await writeAll(f, new TextEncoder().encode(text));
      await f.syncData();
    } finally {
      f.close();
    }
    await Deno.link(tmp, file);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) return false;
    throw new IdentityError(
      file,
      `cannot write it: ${writeHint(e, dir)}`,
      { cause: e },
    );
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
}

/**
 * Reads a file of the state directory without following a symbolic link;
 * `undefined` when it does not exist.
 */
async function readStateFile(
  file: string,
  what: string,
): Promise<BoundedText | undefined> {
  try {
    return await readBoundedText(file, {
      maxBytes: MAX_IDENTITY_BYTES,
      noFollow: true,
    });
  } catch (e) {
    if (!(e instanceof FileReadError)) throw e;
    if (e.reason === "missing") return undefined;
    const fix = e.reason === "symlink"
      ? `; ${what} must be a regular file in the state directory: replace the link with the file it points to`
      : e.reason === "not_regular" || e.reason === "too_large" ||
          e.reason === "not_text"
      ? `; restore it from a backup or delete it to create a new one`
      : "";
    throw new IdentityError(file, `${e.detail}${fix}`, { cause: e });
  }
}

/** The key file: a regular file owned by this user that no one else may read. */
async function readPrivateFile(file: string): Promise<string | undefined> {
  const read = await readStateFile(file, "the key file");
  if (!read) return undefined;
  const { mode, uid } = read.info;
  const me = Deno.uid();
  if (me !== null && uid !== me) {
    throw new IdentityError(
      file,
      `it is owned by uid ${uid}, not by the user running edgespan (uid ${me}); ` +
        `the private key may have been planted or read. Run "chown ${me} ${file}" if you are sure it is yours, ` +
        `or delete it to create a new key pair`,
    );
  }
  if ((mode & 0o077) !== 0) {
    throw new IdentityError(
      file,
      `it is readable by other users (mode ${
        (mode & 0o777).toString(8).padStart(4, "0")
      }); ` +
        `the private key may have leaked. Run "chmod 600 ${file}" if you are sure it has not, ` +
        `or delete it to create a new key pair`,
    );
  }
  return read.text;
}

async function decodeKeyPair(
  file: string,
  text: string,
): Promise<StoredKeyPair> {
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
  const publicKey = await derivePublicKey(privateKey);
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
    if (text !== undefined) return await decodeKeyPair(file, text);
    const privateKey = generatePrivateKey();
    const pair = { privateKey, publicKey: await derivePublicKey(privateKey) };
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
    const read = await readStateFile(file, "the node id file");
    if (read !== undefined) {
      let doc: unknown;
      try {
        doc = parse(read.text);
      } catch {
        doc = undefined;
      }
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
