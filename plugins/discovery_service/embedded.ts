/**
 * Hosts the discovery service inside the agent when the site config has
 * `discovery.serve`, supervised (restarted on failure) for as long as the
 * agent runs.
 *
 * @module
 */
import type { Agent } from "../../core/agent.ts";
import type { Attachment } from "../../core/cli/main.ts";
import { superviseDiscovery } from "./server/supervise.ts";

/** Starts the embedded service if configured; `undefined` when it is not. */
export async function attachEmbeddedDiscovery(
  agent: Agent,
): Promise<Attachment | undefined> {
  const serve = agent.config.discovery.serve;
  if (!serve) return undefined;
  const read = async (file: string | undefined, what: string) => {
    if (file === undefined) return undefined;
    try {
      return await Deno.readTextFile(file);
    } catch (e) {
      throw new Error(
        `Cannot read discovery.serve.${what} "${file}": ${
          (e as Error).message
        }`,
      );
    }
  };
  const tlsCert = await read(serve.tlsCert, "tlsCert");
  const tlsKey = await read(serve.tlsKey, "tlsKey");
  const log = agent.log.with({ component: "discovery-server" });
  const supervised = superviseDiscovery({
    listen: serve.listen,
    ...(tlsCert && tlsKey ? { tlsCert, tlsKey } : {}),
    ...(serve.stateFile ? { stateFile: serve.stateFile } : {}),
  }, (message, fields) => log.info(message, fields));
  log.info("embedded discovery service starting", {
    listen: serve.listen,
    tls: Boolean(tlsCert),
  });
  return { close: () => supervised.stop() };
}
