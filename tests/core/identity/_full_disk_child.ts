/**
 * Child of the full-disk test in store_test.ts: runs inside a private mount
 * namespace with a tiny tmpfs at `Deno.args[0]`, fills it, then does what a
 * first start does (key pair, node id, API token) and prints what happened
 * as one JSON line.
 *
 * @module
 */
import {
  loadOrCreateKeyPair,
  loadOrCreateNodeId,
} from "../../../core/identity/store.ts";
import { loadOrCreateToken } from "../../../web/token.ts";

const root = Deno.args[0]!;
const filler = await Deno.open(`${root}/filler`, {
  write: true,
  createNew: true,
});
try {
  for (;;) await filler.write(new Uint8Array(512));
} catch {
  // the file system is full now
} finally {
  filler.close();
}
const state = `${root}/state`;
const outcome = async (fn: () => Promise<unknown>) => {
  try {
    await fn();
    return { ok: true };
  } catch (e) {
    return {
      ok: false,
      name: (e as Error).name,
      message: (e as Error).message,
    };
  }
};
const keyPair = await outcome(() =>
  loadOrCreateKeyPair(state, { address: "fd00::1/128", subnet: "fd00::/64" })
);
const nodeId = await outcome(() => loadOrCreateNodeId(state));
const token = await outcome(() => loadOrCreateToken(state));
const files = [...Deno.readDirSync(state)].map((e) => e.name);
console.log(JSON.stringify({ keyPair, nodeId, token, files }));
