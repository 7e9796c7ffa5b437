/**
 * The systemd units in build/: `systemd-analyze verify` accepts them (with
 * the man page this build generates), both are hardened (exposure score),
 * the discovery unit can unpack the single file under DynamicUser, and the
 * agent's unit has the directories the config and API socket expect.
 */
import { runCli } from "../../web/cli/main.ts";
import { BUILTIN_PLUGINS } from "../../plugins/mod.ts";
import { run } from "../_tools/netns.ts";
import { assert, assertEquals, assertMatch } from "../_tools/assert.ts";

const BUILD = new URL("../../build/", import.meta.url).pathname;
const UNITS = ["edgespan.service", "edgespan-discovery.service"];
const analyze = (await run("sh", ["-c", "command -v systemd-analyze"])).stdout
  .trim();
if (!analyze) {
  console.log(
    "units_test: systemd-analyze steps skipped: apt-get install systemd",
  );
}

function directive(unit: string, key: string): string[] {
  return unit.split("\n").filter((l) => l.startsWith(`${key}=`)).map((l) =>
    l.slice(key.length + 1)
  );
}

Deno.test("units: the discovery unit unpacks the single file into its CacheDirectory", async () => {
  const unit = await Deno.readTextFile(`${BUILD}/edgespan-discovery.service`);
  assertEquals(directive(unit, "DynamicUser"), ["yes"]);
  assertEquals(directive(unit, "CacheDirectory"), ["edgespan-discovery"]);
  assertEquals(directive(unit, "Environment"), [
    "EDGESPAN_CACHE=/var/cache/edgespan-discovery",
  ]);
  const agent = await Deno.readTextFile(`${BUILD}/edgespan.service`);
  for (
    const key of [
      "ConfigurationDirectory",
      "StateDirectory",
      "CacheDirectory",
    ]
  ) {
    assertEquals(directive(agent, key), ["edgespan"], key);
  }
  // The API socket's dir, and wireguard-go's UAPI dir under ProtectSystem=strict.
  assertEquals(directive(agent, "RuntimeDirectory"), ["edgespan wireguard"]);
  assertEquals(directive(agent, "CapabilityBoundingSet"), [
    "CAP_NET_ADMIN CAP_NET_RAW",
  ]);
});

Deno.test({
  name: "units: systemd-analyze verify passes and both units are hardened",
  ignore: !analyze,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "es-units-" });
    try {
      // verify wants the executables and the man page it names to exist.
      await Deno.writeTextFile(`${dir}/edgespan`, "#!/bin/sh\n", {
        mode: 0o755,
      });
      await Deno.mkdir(`${dir}/man/man1`, { recursive: true });
      let man = "";
      await runCli(["man"], {
        version: "0.0.0",
        plugins: BUILTIN_PLUGINS,
        out: (t) => void (man += t),
      });
      await Deno.writeTextFile(`${dir}/man/man1/edgespan.1`, man);
      for (const u of UNITS) {
        const text = await Deno.readTextFile(`${BUILD}/${u}`);
        await Deno.writeTextFile(
          `${dir}/${u}`,
          text.replaceAll("/usr/local/bin/edgespan", `${dir}/edgespan`),
        );
      }
      const verify = await new Deno.Command("systemd-analyze", {
        args: ["verify", ...UNITS.map((u) => `${dir}/${u}`)],
        env: { MANPATH: `${dir}/man`, SYSTEMD_LOG_LEVEL: "notice" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const said = new TextDecoder().decode(verify.stderr) +
        new TextDecoder().decode(verify.stdout);
      assertEquals([verify.code, said.trim()], [0, ""]);
      for (const u of UNITS) {
        const r = await run("systemd-analyze", [
          "security",
          "--offline=yes",
          `${BUILD}/${u}`,
        ]);
        const m = /Overall exposure level for \S+: (\d+\.\d)/.exec(
          r.stdout + r.stderr,
        );
        assert(m, r.stdout + r.stderr);
        const score = Number(m[1]);
        console.log(`${u}: exposure ${score}`);
        assert(score <= 3.0, `${u}: exposure ${score} > 3.0`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("units: the agent's unit starts `edgespan run` with the default config", async () => {
  const agent = await Deno.readTextFile(`${BUILD}/edgespan.service`);
  assertEquals(directive(agent, "ExecStart"), ["/usr/local/bin/edgespan run"]);
  assertMatch(
    agent,
    /^Environment=EDGESPAN_CONFIG=\/etc\/edgespan\/config\.yaml$/m,
  );
  assertEquals(directive(agent, "Type"), ["notify"]);
});
