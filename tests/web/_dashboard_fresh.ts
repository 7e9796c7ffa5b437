/**
 * Checks that `web/dashboard/asset.ts` is what `deno task build:dashboard`
 * would write now, and type-checks the browser code on its own (it uses
 * the DOM lib, so it is checked in a separate program).
 *
 * @module
 */
import { buildDashboardHtml } from "../../web/dashboard/build.ts";
import { DASHBOARD_HTML } from "../../web/dashboard/asset.ts";
import { assert, assertEquals } from "../_tools/assert.ts";

/** Throws when the asset is stale or app.ts does not type-check. */
export async function assertBuildFresh(): Promise<void> {
  const fresh = await buildDashboardHtml();
  assert(
    fresh === DASHBOARD_HTML,
    "web/dashboard/asset.ts is stale: run `deno task build:dashboard`",
  );
  const app = new URL("../../web/dashboard/app.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--quiet", app],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
}
