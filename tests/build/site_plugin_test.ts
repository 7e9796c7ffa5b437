/**
 * Site plugins from the single file: the bundle (what `deno task build`
 * packs) run with the launcher's flags loads a plugin in its sandboxed
 * worker (`edgespan validate`), and refuses a bad one with exit code 2.
 * The worker's program travels inside the bundle (a blob URL), so nothing
 * but the bundle is needed.
 *
 * @module
 */
import { bundle } from "../../build/build.ts";
import { RUN_PERMISSIONS } from "../../build/stub.ts";
import { V8_FLAGS } from "../../core/runtime_flags.ts";
import { assertEquals, assertStringIncludes } from "../_tools/assert.ts";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

Deno.test("single file: a site plugin is loaded in its sandbox; a bad one is exit 2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "edgespan-site-bundle-" });
  try {
    await bundle(ROOT, `${ROOT}/main.ts`, `${dir}/edgespan.js`);
    const plugin = (api: number) =>
      `export default { apiVersion: ${api}, version: "1", description: "r", hooks: ["routeAdvertisement"],
        parseOptions: (raw) => raw.networks ? { ok: true, options: raw } : { ok: false, problems: [{ path: "networks", message: "is missing" }] },
        create: (c, o) => ({ routeAdvertisement: { advertise: () => o.networks } }) };\n`;
    await Deno.writeTextFile(`${dir}/ok.js`, plugin(1));
    await Deno.writeTextFile(`${dir}/old.js`, plugin(0));
    const config = (entries: string) =>
      `cluster: { id: demo, secret: "${btoa("k".repeat(32))}" }\n` +
      `node: { stateDir: ${dir}/state }\nplugins:\n${entries}\n`;
    await Deno.writeTextFile(
      `${dir}/good.yaml`,
      config(`  r: { module: ${dir}/ok.js, networks: [10.0.0.0/8] }`),
    );
    await Deno.writeTextFile(
      `${dir}/bad.yaml`,
      config(
        `  r: { module: ${dir}/ok.js }\n  o: { module: ${dir}/old.js, networks: [] }`,
      ),
    );
    // The launcher's command line (build/stub.ts): no config file, no lock.
    const validate = async (file: string) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          `--v8-flags=${V8_FLAGS}`,
          "--no-prompt",
          "--no-config",
          "--no-lock",
          "--no-remote",
          "--no-npm",
          "--cached-only",
          ...RUN_PERMISSIONS,
          `${dir}/edgespan.js`,
          "validate",
          "--config",
          file,
        ],
        cwd: dir,
        env: { NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const d = new TextDecoder();
      return {
        code: out.code,
        text: d.decode(out.stdout) + d.decode(out.stderr),
      };
    };
    assertEquals(await validate(`${dir}/good.yaml`), {
      code: 0,
      text: `${dir}/good.yaml: ok\n`,
    });
    const bad = await validate(`${dir}/bad.yaml`);
    assertEquals(bad.code, 2, bad.text);
    assertStringIncludes(bad.text, "plugins.r.networks: is missing");
    assertStringIncludes(
      bad.text,
      "plugins.o.module: is written for plugin API version 0; this agent runs version 1",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
