/**
 * `deno task build`: one executable file per target,
 * `dist/edgespan-x86_64-linux` and `dist/edgespan-aarch64-linux`.
 *
 * With a genuine `denort` (`DENORT_BIN` or Deno's cache) it runs
 * `deno compile --target`. Otherwise it bundles the program into one JS
 * file and writes a self-extracting file: sh stub + gzip'd tar of the npm
 * Deno runtime and the bundle (see `stub.ts`).
 *
 * Options: `--entry FILE` (default main.ts), `--out DIR` (default dist),
 * `--target x86_64|aarch64` (repeatable; default both).
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  denoRuntime,
  findDenort,
  pinnedDenoVersion,
  type Target,
  TARGETS,
} from "./runtime.ts";
import { renderStub, RUN_PERMISSIONS } from "./stub.ts";

/** Options of {@linkcode buildAll}. */
export interface BuildOptions {
  /** Repository root. @default the parent of build/ */
  root?: string;
  /** Program entry. @default "<root>/main.ts" */
  entry?: string;
  /** Output dir. @default "<root>/dist" */
  outDir?: string;
  /** @default both */
  targets?: readonly Target["arch"][];
  /** Version written into the stub. @default core/version.ts */
  version?: string;
  /** Progress lines. @default console.log */
  log?: (line: string) => void;
}

/** What was built. */
export interface Artifact {
  arch: Target["arch"];
  path: string;
  bytes: number;
  method: "deno compile" | "self-extracting";
  /** Payload hash (self-extracting only). */
  hash?: string;
  seconds: number;
}

const decoder = new TextDecoder();

async function exec(
  cmd: string,
  args: string[],
  options: { cwd?: string; stdin?: Uint8Array; env?: Record<string, string> } =
    {},
): Promise<Uint8Array> {
  const child = new Deno.Command(cmd, {
    args,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.env ? { env: options.env } : {}),
    stdin: options.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin) {
    const w = child.stdin.getWriter();
    await w.write(options.stdin);
    await w.close();
  }
  const out = await child.output();
  if (!out.success) {
    throw new Error(
      `Cannot build: "${cmd} ${args.join(" ")}" failed: ${
        decoder.decode(out.stderr).trim().slice(-2000)
      }`,
    );
  }
  return out.stdout;
}

async function sha256Hex(path: string): Promise<string> {
  const out = await exec("sha256sum", [path]);
  return decoder.decode(out).split(" ")[0]!;
}

/**
 * The commit (12 hex digits, `-dirty` with uncommitted changes) and its
 * date, for `edgespan version`; the date of the commit, not of the build,
 * so the same tree gives the same bytes. `unknown` outside a git checkout.
 */
export async function gitBuildInfo(
  root: string,
): Promise<{ commit: string; date: string }> {
  try {
    const text = (b: Uint8Array) => decoder.decode(b).trim();
    const commit = text(
      await exec("git", ["rev-parse", "--short=12", "HEAD"], { cwd: root }),
    );
    const date = text(
      await exec("git", ["log", "-1", "--format=%cI", "HEAD"], { cwd: root }),
    );
    const dirty = text(
      await exec("git", ["status", "--porcelain", "--untracked-files=no"], {
        cwd: root,
      }),
    ) !== "";
    return {
      commit: dirty ? `${commit}-dirty` : commit,
      date: new Date(date).toISOString().replace(/\.000Z$/, "Z"),
    };
  } catch {
    return { commit: "unknown", date: "unknown" };
  }
}

/** Bundles `entry` into one JS file for `deno run`, with the build info in front. */
export async function bundle(
  root: string,
  entry: string,
  out: string,
): Promise<void> {
  // "browser" picks the packages' browser builds: the same code for every
  // package we use except yaml, whose browser build is ES modules without
  // `node:` imports (no `createRequire`), so parsing the config does not start
  // Deno's Node compatibility layer (measured on a script that only parses
  // YAML: 38 MB RSS and 30 ms against 47 MB and 50 ms).
  await exec(Deno.execPath(), [
    "bundle",
    "--quiet",
    "--platform",
    "browser",
    "-o",
    out,
    entry,
  ], { cwd: root });
  const info = await gitBuildInfo(root);
  const js = await Deno.readTextFile(out);
  await Deno.writeTextFile(
    out,
    `globalThis.EDGESPAN_BUILD = ${JSON.stringify(info)};\n${js}`,
  );
}

async function selfExtracting(
  target: Target,
  options: Required<Omit<BuildOptions, "targets" | "log">>,
  bundlePath: string,
  work: string,
): Promise<Omit<Artifact, "seconds">> {
  const denoVersion = await pinnedDenoVersion(options.root);
  const runtime = await denoRuntime(
    target,
    denoVersion,
    options.root,
    `${options.root}/.cache/build`,
  );
  const stage = `${work}/${target.arch}`;
  await Deno.mkdir(stage, { recursive: true });
  await Deno.copyFile(runtime, `${stage}/deno`);
  await Deno.chmod(`${stage}/deno`, 0o755);
  await Deno.copyFile(bundlePath, `${stage}/edgespan.js`);
  const payload = `${work}/${target.arch}.tar.gz`;
  // Fixed names, owners and times: the same inputs give the same hash.
  await exec("sh", [
    "-c",
    'tar -c --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$1" deno edgespan.js | gzip -n -6 > "$2"',
    "sh",
    stage,
    payload,
  ]);
  const hash = (await sha256Hex(payload)).slice(0, 16);
  const stub = new TextEncoder().encode(
    renderStub({ version: options.version, arch: target.arch, hash }),
  );
  const path = `${options.outDir}/edgespan-${target.arch}-linux`;
  const tmp = `${path}.tmp`;
  const file = await Deno.open(tmp, {
    write: true,
    create: true,
    truncate: true,
    mode: 0o755,
  });
  try {
    await file.write(stub);
    const src = await Deno.open(payload, { read: true });
    await src.readable.pipeTo(file.writable, { preventClose: true });
  } finally {
    file.close();
  }
  await Deno.chmod(tmp, 0o755);
  await Deno.rename(tmp, path);
  await Deno.remove(stage, { recursive: true });
  await Deno.remove(payload);
  return {
    arch: target.arch,
    path,
    bytes: (await Deno.stat(path)).size,
    method: "self-extracting",
    hash,
  };
}

async function compiled(
  target: Target,
  denort: string,
  options: Required<Omit<BuildOptions, "targets" | "log">>,
): Promise<Omit<Artifact, "seconds">> {
  const path = `${options.outDir}/edgespan-${target.arch}-linux`;
  const env: Record<string, string> = denort.endsWith(".zip")
    ? {}
    : { DENORT_BIN: denort };
  await exec(Deno.execPath(), [
    "compile",
    "--target",
    target.triple,
    "--no-prompt",
    ...RUN_PERMISSIONS,
    "-o",
    path,
    options.entry,
  ], { cwd: options.root, env });
  return {
    arch: target.arch,
    path,
    bytes: (await Deno.stat(path)).size,
    method: "deno compile",
  };
}

/** Builds every requested target; returns what was built. */
export async function buildAll(
  options: BuildOptions = {},
): Promise<Artifact[]> {
  const root = options.root ??
    new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  const { VERSION } = await import("../core/version.ts");
  const full = {
    root,
    entry: options.entry ?? `${root}/main.ts`,
    outDir: options.outDir ?? `${root}/dist`,
    version: options.version ?? VERSION,
  };
  const log = options.log ?? console.log;
  const wanted = TARGETS.filter((t) =>
    (options.targets ?? ["x86_64", "aarch64"]).includes(t.arch)
  );
  await Deno.mkdir(full.outDir, { recursive: true });
  const work = await Deno.makeTempDir({ prefix: "edgespan-build-" });
  const artifacts: Artifact[] = [];
  try {
    let bundlePath: string | undefined;
    const denoVersion = await pinnedDenoVersion(root);
    for (const target of wanted) {
      const started = performance.now();
      const denort = await findDenort(target, denoVersion);
      let built: Omit<Artifact, "seconds">;
      if (denort) {
        built = await compiled(target, denort, full);
      } else {
        if (!bundlePath) {
          bundlePath = `${work}/edgespan.js`;
          await bundle(root, full.entry, bundlePath);
          log(
            `bundled ${full.entry} -> ${
              (await Deno.stat(bundlePath)).size
            } B of JS`,
          );
        }
        built = await selfExtracting(target, full, bundlePath, work);
      }
      const artifact = {
        ...built,
        seconds: Math.round((performance.now() - started) / 100) / 10,
      };
      artifacts.push(artifact);
      log(
        `built ${artifact.path}: ${
          (artifact.bytes / 1e6).toFixed(1)
        } MB, ${artifact.method}${
          artifact.hash ? ` (payload ${artifact.hash})` : ""
        }, ${artifact.seconds} s`,
      );
    }
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
  return artifacts;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      entry: { type: "string" },
      out: { type: "string" },
      target: { type: "string", multiple: true },
    },
  });
  const targets = values.target as Target["arch"][] | undefined;
  for (const t of targets ?? []) {
    if (!TARGETS.some((x) => x.arch === t)) {
      console.error(`Unknown target "${t}": use x86_64 or aarch64`);
      Deno.exit(2);
    }
  }
  await buildAll({
    ...(values.entry ? { entry: values.entry } : {}),
    ...(values.out ? { outDir: values.out } : {}),
    ...(targets ? { targets } : {}),
  });
}
