/**
 * The site plugin loader: reads each module named in `plugins:`, hashes
 * it, and loads it once in a throw-away sandbox to check its default
 * export, API version, hook groups and options. Every refusal is a config
 * problem at the entry's field path; the definitions it returns start a
 * fresh sandbox per run from the same bytes.
 *
 * @module
 */
import type { ConfigProblem } from "../../core/config/types.ts";
import { FileReadError, readBoundedText } from "../../core/fs/read_bounded.ts";
import { encodeBase64, encodeHex } from "../../core/encoding/base64.ts";
import {
  describePermissions,
  type SiteLoadContext,
  type SiteLoadResult,
  type SitePluginDefinition,
  type SitePluginEntry,
  type SitePluginLoader,
} from "../../core/plugins/site.ts";
import type { PluginKind } from "../../core/plugins/types.ts";
import { Sandbox } from "./sandbox.ts";
import {
  initMessage,
  type LoadedModule,
  sandboxedInstance,
  type SandboxLimits,
} from "./instance.ts";

/** Options of {@linkcode createSiteLoader}. */
export interface SiteLoaderOptions {
  /** Deadline of one hook call in ms. @default 1000 */
  callDeadlineMs?: number;
  /** Deadline of loading, starting, reloading in ms. @default 10000 */
  startDeadlineMs?: number;
  /** Largest module file accepted. @default 4 MiB */
  maxModuleBytes?: number;
}

/** A module's bytes as the data URL the worker imports. */
export function moduleUrl(path: string, text: string): string {
  const mime = /\.m?ts$/.test(path)
    ? "application/typescript"
    : "application/javascript";
  return `data:${mime};base64,${encodeBase64(new TextEncoder().encode(text))}`;
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(text),
  );
  return encodeHex(new Uint8Array(digest));
}

/** Grants that would let a plugin read the config file (it holds the secret). */
function grantProblems(
  entry: SitePluginEntry,
  configPath: string,
): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const kind of ["read", "write"] as const) {
    (entry.permissions[kind] ?? []).forEach((p, i) => {
      const d = p.replace(/\/+$/, "");
      if (configPath === d || configPath.startsWith(`${d}/`)) {
        out.push({
          path: `plugins.${entry.name}.permissions.${kind}[${i}]`,
          message:
            `"${p}" would expose the config file "${configPath}" (it holds the cluster secret); grant the files the plugin needs`,
        });
      }
    });
  }
  return out;
}

/** Creates the loader the composition root gives the agent. */
export function createSiteLoader(
  options: SiteLoaderOptions = {},
): SitePluginLoader {
  const limits: SandboxLimits = {
    callMs: options.callDeadlineMs ?? 1000,
    startMs: options.startDeadlineMs ?? 10_000,
  };
  const maxBytes = options.maxModuleBytes ?? 4 << 20;

  async function loadOne(
    entry: SitePluginEntry,
    context: SiteLoadContext,
  ): Promise<SitePluginDefinition | ConfigProblem[]> {
    const at = (p: string) => `plugins.${entry.name}.${p}`;
    const grants = grantProblems(entry, context.configPath);
    if (grants.length) return grants;
    let text: string;
    try {
      text = (await readBoundedText(entry.module, { maxBytes })).text;
    } catch (e) {
      if (!(e instanceof FileReadError)) throw e;
      return [{ path: at("module"), message: `cannot be read: ${e.detail}` }];
    }
    const url = moduleUrl(entry.module, text);
    const loaded: LoadedModule = {
      name: entry.name,
      url,
      permissions: entry.permissions,
      hooks: [],
    };
    const box = new Sandbox({
      permissions: entry.permissions,
      label: `plugin ${entry.name} (check)`,
      onEvent: () => {},
      onDeath: () => {},
    });
    let reply: {
      t: string;
      problems?: ConfigProblem[];
      meta?: { version: string; description: string; hooks: PluginKind[] };
    };
    try {
      reply = await box.request(
        initMessage(loaded, entry.options, context.config),
        "loading the module",
        limits.startMs,
      ) as typeof reply;
    } catch (e) {
      return [{ path: at("module"), message: (e as Error).message }];
    } finally {
      box.kill("checked");
    }
    if (reply.t !== "loaded" || !reply.meta) {
      return (reply.problems ?? []).map((p) => ({
        path: at(p.path),
        // An import error quotes the data URL: name the file instead.
        message: p.message.replace(/data:[^\s"'`]+/g, entry.module),
      }));
    }
    const meta = reply.meta;
    const module: LoadedModule = { ...loaded, hooks: meta.hooks };
    return {
      name: entry.name,
      hooks: meta.hooks,
      version: meta.version,
      description: meta.description,
      defaultEnabled: false,
      origin: {
        source: entry.module,
        sha256: await sha256(text),
        permissions: describePermissions(entry.permissions),
      },
      create: (ctx, opts) => sandboxedInstance(module, ctx, opts, limits),
    };
  }

  return {
    async load(entries, context): Promise<SiteLoadResult> {
      const results = await Promise.all(
        entries.map((e) => loadOne(e, context)),
      );
      const problems = results.flatMap((r) => Array.isArray(r) ? r : []);
      if (problems.length) return { ok: false, problems };
      return {
        ok: true,
        definitions: results.filter((r): r is SitePluginDefinition =>
          !Array.isArray(r)
        ),
      };
    },
  };
}
