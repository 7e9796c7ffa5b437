import { assertBuildFresh } from "./_dashboard_fresh.ts";

Deno.test("the checked-in dashboard asset matches a fresh esbuild bundle, and app.ts type-checks", async () => {
  await assertBuildFresh();
});
