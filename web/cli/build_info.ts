/**
 * The commit and build date of this build. `deno task build` puts them in
 * front of the bundle as `globalThis.EDGESPAN_BUILD`; running from source
 * says `dev`.
 *
 * @module
 */

/** What `edgespan version` prints besides the version. */
export interface BuildInfo {
  commit: string;
  /** RFC 3339 date of the commit the build was made from. */
  date: string;
}

/** The global the build sets (see `build/build.ts`). */
export const BUILD_GLOBAL = "EDGESPAN_BUILD";

/** This build's commit and date, or `dev`/`unknown` when run from source. */
export function buildInfo(): BuildInfo {
  const info = (globalThis as Record<string, unknown>)[BUILD_GLOBAL] as
    | Partial<BuildInfo>
    | undefined;
  return {
    commit: typeof info?.commit === "string" ? info.commit : "dev",
    date: typeof info?.date === "string" ? info.date : "unknown",
  };
}
