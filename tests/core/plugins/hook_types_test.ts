/**
 * Type-level tests of the hooks facade and `definePlugin`: each
 * `@ts-expect-error` line must fail to type-check (`deno check tests/`
 * reports an unused directive otherwise), so a call site cannot pick a
 * combination, misname a hook, or pass the wrong arguments.
 *
 * @module
 */
import {
  type AllowedCombination,
  definePlugin,
  HOOK_COMBINATION,
  type HookCallers,
  type HookTable,
  type PathDecision,
  type PluginAnswer,
} from "../../../core/plugins/types.ts";
import type { AffiliateSpec } from "../../../core/resources/specs.ts";
import { assertEquals } from "../../_tools/assert.ts";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends
  (<T>() => T extends B ? 1 : 2) ? true : false;
function expectType<T extends true>(_ok: T): void {}

// Callers take their types from the hook interfaces and the table.
expectType<
  Equal<
    ReturnType<HookCallers["endpointFilter"]["advertised"]>,
    string[]
  >
>(true);
expectType<
  Equal<
    ReturnType<HookCallers["discovery"]["affiliates"]>,
    PluginAnswer<AffiliateSpec[]>[]
  >
>(true);
expectType<
  Equal<
    ReturnType<HookCallers["discovery"]["publish"]>,
    Promise<PluginAnswer<void>[]>
  >
>(true);
expectType<
  Equal<
    ReturnType<HookCallers["peerSelection"]["nextEndpoint"]>,
    string | undefined
  >
>(true);
expectType<
  Equal<
    ReturnType<HookCallers["peerPath"]["decide"]>,
    PathDecision | undefined
  >
>(true);
expectType<
  Equal<
    ReturnType<HookCallers["downPeerBypass"]["forcedPeers"]>,
    Set<string> | undefined
  >
>(true);

// The table admits only combinations that fit the hook's signature.
expectType<
  Equal<
    AllowedCombination<(a: readonly string[]) => string[]>,
    "collect" | "first" | "sequential"
  >
>(true);
expectType<
  Equal<AllowedCombination<() => Promise<void>>, "parallel">
>(true);

function typeCases(hooks: HookCallers): void {
  // @ts-expect-error a hook that does not exist cannot be called
  hooks.endpointFilter.advertise(["a"]);
  // @ts-expect-error a group that does not exist
  hooks.relay.pick();
  // @ts-expect-error no free-text combination or operation name
  hooks.pipeline("endpointFilter", "advertised", ["a"]);
  // @ts-expect-error arguments are the hook's own
  hooks.endpointFilter.advertised([1]);
  // @ts-expect-error a sequential hook answers its input type, not answers by name
  const _named: PluginAnswer<string[]>[] = hooks.endpointFilter.advertised([]);
  // @ts-expect-error a `first` hook may answer undefined
  const _picked: string = hooks.peerSelection.nextEndpoint(
    {} as never,
    {} as never,
    0,
  );
  // @ts-expect-error a collect hook is synchronous, not awaited per plugin
  const _sync: Promise<unknown> = hooks.discovery.health();
}

const _badTable = {
  ...HOOK_COMBINATION,
  // @ts-expect-error an async hook cannot be collected synchronously
  discovery: { ...HOOK_COMBINATION.discovery, publish: "collect" },
} satisfies HookTable;

const _notSequential = {
  ...HOOK_COMBINATION,
  // @ts-expect-error a hook whose result is not its input cannot be piped
  peerSelection: { nextEndpoint: "sequential" },
} satisfies HookTable;

// @ts-expect-error every hook has an entry in the table
const _missing: HookTable = { ...HOOK_COMBINATION, tunnelBypass: {} };

definePlugin({
  name: "declared-but-missing",
  hooks: ["endpointFilter"],
  version: "1",
  description: "",
  defaultEnabled: false,
  // @ts-expect-error a declared hook group must be implemented
  create: () => ({}),
});

definePlugin({
  name: "undeclared-group",
  hooks: [],
  version: "1",
  description: "",
  defaultEnabled: false,
  create: () => ({
    // @ts-expect-error a group must be declared in `hooks` to be implemented
    peerSelection: { nextEndpoint: () => undefined },
  }),
});

definePlugin({
  name: "wrong-signature",
  hooks: ["routeAdvertisement"],
  version: "1",
  description: "",
  defaultEnabled: false,
  // @ts-expect-error a hook must keep its interface's signature
  create: () => ({ routeAdvertisement: { advertise: () => 42 } }),
});

Deno.test("the hook table has one combination per hook of every group", () => {
  void typeCases;
  assertEquals(
    Object.fromEntries(
      Object.entries(HOOK_COMBINATION).map(([k, v]) => [k, Object.keys(v)]),
    ),
    {
      discovery: [
        "publish",
        "affiliates",
        "publicAddresses",
        "leave",
        "health",
      ],
      endpointFilter: ["advertised", "accepted", "appended"],
      endpointOrder: ["order"],
      peerSelection: [
        "nextEndpoint",
        "restartHandshake",
        "judge",
        "searches",
      ],
      routeAdvertisement: ["advertise"],
      downPeerBypass: ["forcedPeers"],
      tunnelBypass: ["destinations", "replyPorts"],
      peerPath: ["decide", "offer", "served"],
    },
  );
});
