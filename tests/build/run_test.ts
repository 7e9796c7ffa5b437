import { run, runOk } from "../../build/run.ts";
import { assertEquals, assertRejects } from "../_tools/assert.ts";

Deno.test("run() collects stdout, stderr and the exit code, with stdin", async () => {
  const r = await run("sh", ["-c", "cat; echo oops >&2; exit 3"], {
    stdin: "hello",
  });
  assertEquals(r, { code: 3, stdout: "hello", stderr: "oops\n" });
});

Deno.test("run() passes cwd and env, and bytes as stdin", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await run("sh", ["-c", 'pwd; echo "$ES_RUN_TEST"; cat'], {
      cwd: dir,
      env: { ES_RUN_TEST: "set" },
      stdin: new Uint8Array([0x61, 0x62]),
    });
    assertEquals(r.stdout, `${await Deno.realPath(dir)}\nset\nab`);
  } finally {
    await Deno.remove(dir);
  }
});

Deno.test("run() reports a missing command as exit 127 instead of throwing", async () => {
  const r = await run("/nonexistent/edgespan-no-such-tool", []);
  assertEquals(r.code, 127);
  assertEquals(r.stdout, "");
});

Deno.test("runOk() returns stdout, and throws with the command and its stderr", async () => {
  assertEquals(await runOk("sh", ["-c", "echo ok"]), "ok\n");
  await assertRejects(
    () => runOk("sh", ["-c", "echo broken >&2; exit 2"]),
    Error,
    "Command failed: sh -c echo broken >&2; exit 2: exit 2: broken",
  );
});
