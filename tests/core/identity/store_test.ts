import {
  base62,
  IDENTITY_FILE,
  IdentityError,
  loadOrCreateKeyPair,
  loadOrCreateNodeId,
} from "../../../core/identity/store.ts";
import { publicKeyOf } from "../../../core/identity/keys.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertNotEquals,
  assertRejects,
} from "../../_tools/assert.ts";

const DERIVED = {
  address: "fd7f:175a:b97c:5602:2c1a:b6ff:fe53:8169/128",
  subnet: "fd7f:175a:b97c:5602::/64",
};

async function withStateDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "edgespan-state-" });
  try {
    await fn(`${dir}/state`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("loadOrCreateKeyPair() creates the file 0600 and reuses the key on every start", async () => {
  await withStateDir(async (dir) => {
    const first = await loadOrCreateKeyPair(dir, DERIVED);
    const info = await Deno.stat(`${dir}/${IDENTITY_FILE}`);
    assertEquals((info.mode ?? 0) & 0o777, 0o600);
    assertEquals(((await Deno.stat(dir)).mode ?? 0) & 0o777, 0o700);
    const text = await Deno.readTextFile(`${dir}/${IDENTITY_FILE}`);
    for (const key of ["address:", "subnet:", "privateKey:", "publicKey:"]) {
      assertMatch(text, new RegExp(`^${key}`, "m"));
    }
    const second = await loadOrCreateKeyPair(dir, DERIVED);
    assertEquals(second.publicKey, first.publicKey);
    assertEquals(publicKeyOf(second.privateKey), second.publicKey);
  });
});

Deno.test("loadOrCreateKeyPair() ignores stale address and subnet in the file", async () => {
  await withStateDir(async (dir) => {
    const first = await loadOrCreateKeyPair(dir, DERIVED);
    const text = (await Deno.readTextFile(`${dir}/${IDENTITY_FILE}`)).replace(
      /^address:.*$/m,
      "address: ''",
    );
    await Deno.writeTextFile(`${dir}/${IDENTITY_FILE}`, text);
    assertEquals(
      (await loadOrCreateKeyPair(dir, DERIVED)).publicKey,
      first.publicKey,
    );
  });
});

Deno.test("loadOrCreateKeyPair() refuses a world-readable file instead of making a new key", async () => {
  await withStateDir(async (dir) => {
    await loadOrCreateKeyPair(dir, DERIVED);
    await Deno.chmod(`${dir}/${IDENTITY_FILE}`, 0o644);
    const before = await Deno.readTextFile(`${dir}/${IDENTITY_FILE}`);
    const err = await assertRejects(
      () => loadOrCreateKeyPair(dir, DERIVED),
      IdentityError,
      "readable by other users",
    );
    assertMatch(err.message, /chmod 600/);
    assertEquals(await Deno.readTextFile(`${dir}/${IDENTITY_FILE}`), before);
  });
});

Deno.test("loadOrCreateKeyPair() refuses a corrupt file with a clear error", async () => {
  await withStateDir(async (dir) => {
    await Deno.mkdir(dir, { recursive: true });
    const file = `${dir}/${IDENTITY_FILE}`;
    const cases: [string, string][] = [
      ["privateKey: [unclosed", "not valid YAML"],
      ["address: x\n", "no privateKey"],
      ["privateKey: abc\n", "privateKey is invalid"],
      [
        `privateKey: ${"A".repeat(43)}=\npublicKey: ${"B".repeat(43)}=\n`,
        "does not match",
      ],
    ];
    for (const [content, why] of cases) {
      await Deno.writeTextFile(file, content, { mode: 0o600 });
      await Deno.chmod(file, 0o600);
      await assertRejects(
        () => loadOrCreateKeyPair(dir, DERIVED),
        IdentityError,
        why,
      );
      assertEquals(
        await Deno.readTextFile(file),
        content,
        "the file must stay untouched",
      );
    }
  });
});

Deno.test("loadOrCreateKeyPair() gives every concurrent caller the same key", async () => {
  await withStateDir(async (dir) => {
    const pairs = await Promise.all(
      Array.from({ length: 8 }, () => loadOrCreateKeyPair(dir, DERIVED)),
    );
    assertEquals(new Set(pairs.map((p) => p.publicKey)).size, 1);
    const leftovers = [...Deno.readDirSync(dir)].map((e) => e.name).filter((
      n,
    ) => n.includes(".tmp-"));
    assertEquals(leftovers, []);
  });
});

Deno.test("loadOrCreateNodeId() persists a base62 id", async () => {
  await withStateDir(async (dir) => {
    const id = await loadOrCreateNodeId(dir);
    assertMatch(id, /^[0-9A-Za-z]{40,44}$/);
    assertEquals(await loadOrCreateNodeId(dir), id);
    await withStateDir(async (other) =>
      assertNotEquals(await loadOrCreateNodeId(other), id)
    );
  });
});

Deno.test("base62() encodes big-endian numbers", () => {
  assertEquals(base62(new Uint8Array([0])), "0");
  assertEquals(base62(new Uint8Array([61])), "z");
  assertEquals(base62(new Uint8Array([62])), "10");
  assertEquals(base62(new Uint8Array([1, 0])), "48");
  assert(base62(new Uint8Array(32).fill(255)).length <= 43);
});
