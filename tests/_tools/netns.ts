/**
 * Network-namespace helpers for privileged tests, re-exported from the one
 * shared module `build/demo/netns.ts` (the demo uses them too), and the
 * subprocess runner of `build/run.ts`.
 *
 * Tests may shell out to `ip`; the product never does.
 *
 * @module
 */
export * from "../../build/run.ts";
export * from "../../build/demo/netns.ts";
export {
  /** The same probe as {@linkcode netnsUnavailable}, under its older name. */
  netnsUnavailable as canUseNetns,
} from "../../build/demo/netns.ts";
