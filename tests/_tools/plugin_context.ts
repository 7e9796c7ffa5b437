/**
 * A plugin context for unit tests: nothing configured, a silent log, no
 * resources, the wall clock; each field can be overridden.
 */
import type { EdgespanConfig } from "../../core/config/types.ts";
import type { LocalIdentity } from "../../core/identity/identity.ts";
import { silentLogger } from "../../core/log/logger.ts";
import type { PluginContext } from "../../core/plugins/types.ts";

/** The context a plugin under test is created with. */
export function testPluginContext(
  fields: Partial<PluginContext> & { pluginName: string },
): PluginContext {
  return {
    config: {} as EdgespanConfig,
    identity: {} as LocalIdentity,
    log: silentLogger(),
    now: Date.now,
    signal: new AbortController().signal,
    oneShot: false,
    requestReconcile: () => {},
    listResources: () => [],
    ...fields,
  };
}
