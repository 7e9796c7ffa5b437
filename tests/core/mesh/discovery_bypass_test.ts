import {
  discoveryDestinations,
  servedDiscoveryPorts,
} from "../../../core/mesh/discovery_bypass.ts";
import { validateConfig } from "../../../core/config/validate.ts";
import { assert, assertEquals } from "../../_tools/assert.ts";

Deno.test("discoveryDestinations() takes literals as they are and resolves names", async () => {
  const r = validateConfig({
    cluster: {
      id: "x",
      secret: "B7kzFvlH7aTcBmSlk5czGsbqXTJQWJo6ViKrkiMzrIk=",
    },
    discovery: {
      endpoints: [
        "http://10.99.0.1:3000/",
        "https://[2001:db8::5]/",
        "grpc://disco.example:443",
      ],
      serve: { listen: "10.99.0.1:3000" },
    },
  });
  assert(r.ok);
  const asked: string[] = [];
  const got = await discoveryDestinations(r.config, (host) => {
    asked.push(host);
    return Promise.resolve(["192.0.2.44"]);
  });
  assertEquals(got, ["10.99.0.1", "2001:db8::5", "192.0.2.44"]);
  assertEquals(asked, ["disco.example"]);
  assertEquals(servedDiscoveryPorts(r.config), [3000]);
});
