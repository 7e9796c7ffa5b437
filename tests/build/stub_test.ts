/**
 * The single file's sh stub with a tiny fake payload (a `deno` script that
 * prints how it was called): the runtime runs under the name `edgespan`,
 * and extracting a new version removes the unpacked older ones.
 */
import { renderStub } from "../../build/stub.ts";
import { assert, assertEquals } from "../_tools/assert.ts";

async function sh(script: string, env: Record<string, string> = {}) {
  const out = await new Deno.Command("sh", {
    args: ["-c", script],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return {
    code: out.code,
    stdout: d.decode(out.stdout),
    stderr: d.decode(out.stderr),
  };
}

async function fakeSingleFile(dir: string, hash: string): Promise<string> {
  await Deno.mkdir(`${dir}/stage`, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/stage/deno`,
    '#!/bin/sh\necho "called as $(basename "$0") with $*"\n',
  );
  await Deno.chmod(`${dir}/stage/deno`, 0o755);
  await Deno.writeTextFile(`${dir}/stage/edgespan.js`, "");
  const tar = await sh(
    `tar -c -C "${dir}/stage" deno edgespan.js | gzip -n > "${dir}/payload.tgz"`,
  );
  assertEquals(tar.code, 0, tar.stderr);
  const stub = new TextEncoder().encode(
    renderStub({ version: "9.9.9", arch: "x86_64", hash }),
  );
  const payload = await Deno.readFile(`${dir}/payload.tgz`);
  const file = `${dir}/edgespan-${hash}`;
  await Deno.writeFile(file, new Uint8Array([...stub, ...payload]), {
    mode: 0o755,
  });
  return file;
}

Deno.test("stub: the runtime runs as edgespan and a new version removes the unpacked old ones", async () => {
  const dir = await Deno.makeTempDir({ prefix: "es-stub-" });
  try {
    const cache = `${dir}/cache`;
    const env = {
      EDGESPAN_CACHE: cache,
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    };
    const v1 = await fakeSingleFile(`${dir}/v1`, "1111111111111111");
    const v2 = await fakeSingleFile(`${dir}/v2`, "2222222222222222");
    const first = await sh(`"${v1}" version`, env);
    assertEquals(first.code, 0, first.stderr);
    assert(
      first.stdout.startsWith("called as edgespan with run "),
      first.stdout,
    );
    assert(
      first.stdout.trimEnd().endsWith("edgespan.js version"),
      first.stdout,
    );
    // A half-extracted dir of another version (no .ok) is not ours to remove.
    await Deno.mkdir(`${cache}/3333333333333333`);
    const second = await sh(`"${v2}" version`, env);
    assertEquals(second.code, 0, second.stderr);
    const left = [...Deno.readDirSync(cache)].map((e) => e.name).sort();
    assertEquals(left, ["2222222222222222", "3333333333333333"]);
    // Warm start: nothing extracted, nothing removed.
    const warm = await sh(`"${v2}" version`, env);
    assertEquals(warm.stdout, second.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
