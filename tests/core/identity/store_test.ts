import {
  base62,
  IDENTITY_FILE,
  IdentityError,
  loadOrCreateKeyPair,
  loadOrCreateNodeId,
  NODE_ID_FILE,
} from "../../../core/identity/store.ts";
import { publicKeyOf } from "../../../core/identity/keys.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertNotEquals,
  assertRejects,
  assertStringIncludes,
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

Deno.test("loadOrCreateKeyPair() refuses a symlinked key file, dangling or not", async () => {
  await withStateDir(async (dir) => {
    const elsewhere = `${dir}-elsewhere`;
    await loadOrCreateKeyPair(elsewhere, DERIVED);
    await Deno.mkdir(dir, { recursive: true });
    await Deno.symlink(
      `${elsewhere}/${IDENTITY_FILE}`,
      `${dir}/${IDENTITY_FILE}`,
    );
    for (const target of ["real", "dangling"]) {
      if (target === "dangling") {
        await Deno.remove(elsewhere, { recursive: true });
      }
      const err = await assertRejects(
        () => loadOrCreateKeyPair(dir, DERIVED),
        IdentityError,
      );
      assertEquals(
        err.message,
        `Cannot use identity file "${dir}/${IDENTITY_FILE}": it is a symbolic link, which is not followed here; ` +
          "the key file must be a regular file in the state directory: replace the link with the file it points to",
        target,
      );
      assert((await Deno.lstat(`${dir}/${IDENTITY_FILE}`)).isSymlink);
    }
  });
});

Deno.test("loadOrCreateKeyPair() refuses a key file owned by another user", async () => {
  if (Deno.uid() !== 0) {
    console.log("skipped: only root can give a file to another user");
    return;
  }
  await withStateDir(async (dir) => {
    await loadOrCreateKeyPair(dir, DERIVED);
    await Deno.chown(`${dir}/${IDENTITY_FILE}`, 4242, 4242);
    const err = await assertRejects(
      () => loadOrCreateKeyPair(dir, DERIVED),
      IdentityError,
    );
    assertMatch(
      err.message,
      /owned by uid 4242, not by the user running edgespan \(uid 0\)/,
    );
    assertMatch(err.message, /chown 0 /);
  });
});

Deno.test("loadOrCreateKeyPair() refuses a group-readable key file", async () => {
  await withStateDir(async (dir) => {
    await loadOrCreateKeyPair(dir, DERIVED);
    await Deno.chmod(`${dir}/${IDENTITY_FILE}`, 0o640);
    await assertRejects(
      () => loadOrCreateKeyPair(dir, DERIVED),
      IdentityError,
      "readable by other users (mode 0640)",
    );
  });
});

Deno.test("loadOrCreateNodeId() refuses a symlink and a corrupt file with an IdentityError", async () => {
  await withStateDir(async (dir) => {
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(`${dir}-id`, "nodeId: abc\n");
    await Deno.symlink(`${dir}-id`, `${dir}/${NODE_ID_FILE}`);
    await assertRejects(
      () => loadOrCreateNodeId(dir),
      IdentityError,
      "symbolic link",
    );
    await Deno.remove(`${dir}/${NODE_ID_FILE}`);
    await Deno.remove(`${dir}-id`);
    await Deno.writeTextFile(`${dir}/${NODE_ID_FILE}`, "nodeId: [unclosed");
    await assertRejects(
      () => loadOrCreateNodeId(dir),
      IdentityError,
      "no valid nodeId",
    );
  });
});

Deno.test("loadOrCreateKeyPair() names a state dir that is not a directory", async () => {
  await withStateDir(async (dir) => {
    await Deno.writeTextFile(dir, "not a directory");
    const err = await assertRejects(
      () => loadOrCreateKeyPair(dir, DERIVED),
      IdentityError,
    );
    assertEquals(
      err.message,
      `Cannot use identity file "${dir}": node.stateDir is not a directory; set it to a directory such as /var/lib/edgespan`,
    );
  });
});

Deno.test("loadOrCreateKeyPair() on a full disk names the path and leaves no temp files", async () => {
  if (Deno.uid() !== 0) {
    console.log("skipped: needs root for unshare -m and mount -t tmpfs");
    return;
  }
  const root = await Deno.makeTempDir({ prefix: "edgespan-full-" });
  try {
    const child = new URL("./_full_disk_child.ts", import.meta.url).pathname;
    const config = new URL("../../../deno.json", import.meta.url).pathname;
    // A private mount namespace: the 4 KiB tmpfs vanishes with the child.
    const run = await new Deno.Command("unshare", {
      args: [
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        'mount -t tmpfs -o size=4k edgespan-full "$1" && exec "$2" run -A --config "$3" "$4" "$1"',
        "sh",
        root,
        Deno.execPath(),
        config,
        child,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(run.stderr);
    assertEquals(run.code, 0, stderr);
    const got = JSON.parse(new TextDecoder().decode(run.stdout).trim());
    const state = `${root}/state`;
    for (
      const [what, file] of [
        ["keyPair", IDENTITY_FILE],
        ["nodeId", NODE_ID_FILE],
      ] as const
    ) {
      assertEquals(got[what].ok, false, `${what} should fail on a full disk`);
      assertEquals(got[what].name, "IdentityError", got[what].message);
      assertMatch(
        got[what].message,
        new RegExp(
          `^Cannot use identity file "${state}/${file}": cannot write it: .*No space left on device.*; ` +
            `free space on the file system of "${state}" or set node.stateDir to another directory$`,
        ),
      );
    }
    assertEquals(got.token.ok, false, "the API token cannot be written either");
    assertStringIncludes(got.token.message, `${state}/api-token`);
    assertEquals(got.files, [], "no file, temporary or partial, may be left");
    assertEquals([...Deno.readDirSync(root)], [], "the tmpfs must be gone");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
