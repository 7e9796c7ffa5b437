import {
  loadOrCreateToken,
  TokenFileError,
  tokensEqual,
} from "../../web/token.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
} from "../_tools/assert.ts";

Deno.test("loadOrCreateToken creates 64 hex digits, mode 0600, and reuses it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const state = `${dir}/state`;
    const token = await loadOrCreateToken(state);
    assertMatch(token, /^[0-9a-f]{64}$/);
    const info = await Deno.stat(`${state}/api-token`);
    assertEquals(info.mode! & 0o777, 0o600);
    assertEquals(await loadOrCreateToken(state), token);
    const entries = [...Deno.readDirSync(state)].map((e) => e.name);
    assertEquals(entries, ["api-token"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadOrCreateToken: concurrent first calls agree on one token", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const tokens = await Promise.all(
      Array.from({ length: 8 }, () => loadOrCreateToken(dir)),
    );
    assertEquals(new Set(tokens).size, 1);
    assertEquals([...Deno.readDirSync(dir)].length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadOrCreateToken: a broken file is an error, a too-open mode is fixed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/api-token`, "not a token\n");
    await assertRejects(() => loadOrCreateToken(dir), TokenFileError);
    await Deno.writeTextFile(`${dir}/api-token`, "ab".repeat(32) + "\n");
    await Deno.chmod(`${dir}/api-token`, 0o644);
    assertEquals(await loadOrCreateToken(dir), "ab".repeat(32));
    assertEquals((await Deno.stat(`${dir}/api-token`)).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tokensEqual", () => {
  assert(tokensEqual("abc", "abc"), "equal");
  assert(!tokensEqual("abc", "abd"), "differs");
  assert(!tokensEqual("abc", "abcd"), "length");
});

Deno.test("loadOrCreateToken refuses a symlinked or oversized token file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const token = "a".repeat(64);
    await Deno.writeTextFile(`${dir}/elsewhere`, token + "\n");
    await Deno.symlink(`${dir}/elsewhere`, `${dir}/api-token`);
    await assertRejects(
      () => loadOrCreateToken(dir),
      TokenFileError,
      "it is a symbolic link",
    );
    await Deno.remove(`${dir}/api-token`);
    await Deno.writeFile(`${dir}/api-token`, new Uint8Array(1 << 20));
    await assertRejects(
      () => loadOrCreateToken(dir),
      TokenFileError,
      "more than the limit of 4 KiB",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
