/**
 * The POSIX sh stub at the front of a self-extracting edgespan file.
 *
 * Layout of the file: stub text, padded so that the payload starts at a
 * fixed byte offset baked into the stub, then a gzip'd tar of `deno` (the
 * runtime for the target) and `edgespan.js` (the bundled program). The
 * first run extracts into `<cache>/<payload hash>/` through a temp dir and
 * `mv -T` (a rename that refuses to merge into an existing dir), so
 * concurrent first starts cannot corrupt it; a dir without its `.ok`
 * marker (extraction cut short by power loss, a cleaner, an old stub) is
 * moved aside and extracted again. After extracting a new version, the
 * unpacked older versions in the cache are removed. The runtime runs as
 * `<dir>/edgespan` (a link to `deno`), so `ps` shows `edgespan`.
 *
 * @module
 */
import { V8_FLAGS } from "../core/runtime_flags.ts";

/**
 * Permissions the agent runs with: everything. Measured with Deno 2.9.6:
 * reading `/sys/class/net` (the MAC that seeds the mesh address) fails with
 * "Requires all access" under any `--allow-read` list, so `--allow-all` is
 * the narrowest set that works. It grants no more than `--allow-ffi`
 * (netlink) already does: FFI can call any libc function.
 *
 * `--unstable-worker-options` lets a site plugin's worker run with only the
 * permissions its config entry grants (`plugins/external/`).
 */
export const RUN_PERMISSIONS: readonly string[] = [
  "--allow-all",
  "--unstable-worker-options",
];

/** Options of {@linkcode renderStub}. */
export interface StubOptions {
  version: string;
  /** `x86_64` or `aarch64`. */
  arch: string;
  /** First 16 hex digits of the payload's sha256. */
  hash: string;
  /** `deno run` permission flags. @default RUN_PERMISSIONS */
  permissions?: readonly string[];
}

const OFFSET_WIDTH = 10;
const OFFSET_MARK = "@".repeat(OFFSET_WIDTH);

function template(o: StubOptions): string {
  const perms = (o.permissions ?? RUN_PERMISSIONS).join(" ");
  return `#!/bin/sh
# edgespan ${o.version} for ${o.arch}-linux: a self-extracting single file
# (this sh stub + the Deno runtime + the bundled program, gzip'd tar).
# First run extracts to $EDGESPAN_CACHE (default /var/cache/edgespan as root,
# else \${XDG_CACHE_HOME:-$HOME/.cache}/edgespan) under the payload hash.
set -eu
H=${o.hash}
O=${OFFSET_MARK}
C=\${EDGESPAN_CACHE:-}
if [ -z "$C" ]; then
  if [ "$(id -u)" = 0 ]; then C=/var/cache/edgespan; else C=\${XDG_CACHE_HOME:-$HOME/.cache}/edgespan; fi
fi
D=$C/$H
if [ ! -f "$D/.ok" ]; then
  mkdir -p "$C"
  T=$(mktemp -d "$C/.x.$H.XXXXXX")
  if ! tail -c +$O "$0" | gzip -dc | tar -x -C "$T"; then
    rm -rf "$T"; echo "edgespan: cannot extract $0 into $C: is there 100 MB free?" >&2; exit 1
  fi
  # Named edgespan, so ps, top and journald show the agent by its name.
  ln -s deno "$T/edgespan"
  : > "$T/.ok"
  if ! mv -T "$T" "$D" 2>/dev/null; then
    if [ ! -f "$D/.ok" ]; then
      B=$(mktemp -d "$C/.broken.$H.XXXXXX")
      mv -T "$D" "$B/d" 2>/dev/null || true
      rm -rf "$B"
      mv -T "$T" "$D" 2>/dev/null || true
    fi
    rm -rf "$T"
  fi
  [ -f "$D/.ok" ] || { echo "edgespan: cannot prepare $D" >&2; exit 1; }
  # This version is in place: remove older unpacked ones (about 92 MB each).
  for X in "$C"/????????????????; do
    [ "$X" = "$D" ] || [ ! -f "$X/.ok" ] || rm -rf "$X"
  done
fi
E=$D/edgespan
[ -x "$E" ] || E=$D/deno
export DENO_DIR="$D/denodir" DENO_NO_UPDATE_CHECK=1
# EDGESPAN_EMULATOR runs the runtime through an emulator, e.g.
# "qemu-aarch64-static -L /path/to/arm64-sysroot" for this file on x86_64.
exec \${EDGESPAN_EMULATOR:-} "$E" run --v8-flags=${V8_FLAGS} --no-prompt --no-config --no-lock --no-remote --no-npm --cached-only ${perms} "$D/edgespan.js" "$@"
`;
}

/** The stub text with the payload offset (1-based, for `tail -c +N`) filled in. */
export function renderStub(options: StubOptions): string {
  const text = template(options);
  const bytes = new TextEncoder().encode(text).length;
  const offset = String(bytes + 1).padStart(OFFSET_WIDTH, "0");
  return text.replace(OFFSET_MARK, offset);
}
