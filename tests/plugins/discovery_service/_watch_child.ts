/** Child process for the resilience test: opens Watch streams and waits to be killed. */
import { rawClient } from "./_harness.ts";

const port = Number(Deno.args[0]);
const c = rawClient(port);
for (let i = 0; i < 4; i++) {
  (async () => {
    for await (const _ of c.watch({ clusterId: "test-cluster" })) {
      console.log("event");
    }
  })().catch(() => {});
}
await c.hello({ clusterId: "test-cluster" });
console.log("ready");
await new Promise(() => {});
