import { assert, assertEquals } from "../_tools/assert.ts";
import { V8_FLAGS } from "../../core/runtime_flags.ts";
import { renderStub } from "../../build/stub.ts";

Deno.test("runtime flags: V8 accepts every flag we ship", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", `--v8-flags=${V8_FLAGS}`, "console.log('ok')"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  assertEquals(
    [out.code, new TextDecoder().decode(out.stdout).trim()],
    [0, "ok"],
    err,
  );
});

Deno.test("runtime flags: the launcher, the edgespan task and the demo pass them", async () => {
  const stub = renderStub({
    version: "0",
    arch: "x86_64",
    hash: "0".repeat(16),
  });
  assert(stub.includes(`--v8-flags=${V8_FLAGS} `), "stub lacks the flags");
  const config = JSON.parse(
    await Deno.readTextFile(new URL("../../deno.json", import.meta.url)),
  );
  assert(
    String(config.tasks.edgespan).includes(`--v8-flags=${V8_FLAGS} `),
    `deno.json task "edgespan" lacks --v8-flags=${V8_FLAGS}`,
  );
  const demo = await Deno.readTextFile(
    new URL("../../build/demo/mesh_demo.ts", import.meta.url),
  );
  assert(demo.includes("`--v8-flags=${V8_FLAGS}`"), "the demo lacks the flags");
});
