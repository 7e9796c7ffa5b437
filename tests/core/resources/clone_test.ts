import { assert, assertEquals } from "../../_tools/assert.ts";
import { cloneSpec, ResourceStore } from "../../../core/resources/store.ts";

const sparse: unknown[] = [1];
sparse[3] = "x";

// Spec-like values and the odd ones a spec should never hold.
const VALUES: unknown[] = [
  null,
  0,
  -0,
  NaN,
  "s",
  true,
  [],
  {},
  { a: 1, b: [1, { c: "d" }], e: null, f: undefined },
  {
    kubespan: {
      publicKey: "k",
      endpoints: ["10.0.0.1:51820", "[fd00::1]:51820"],
      additionalAddresses: [],
    },
    nested: { deep: { deeper: [[1, 2], [3]] } },
  },
  sparse,
  JSON.parse('{"__proto__": {"polluted": true}, "x": 1}'),
  Object.assign(Object.create(null), { bare: 1 }),
  { when: new Date(0), bytes: new Uint8Array([1, 2]), m: new Map([[1, 2]]) },
];

function describe(v: unknown): unknown {
  // What a copy holds, including own keys, prototypes and holes.
  if (typeof v !== "object" || v === null) {
    return Object.is(v, -0) ? "-0" : Number.isNaN(v) ? "NaN" : v;
  }
  if (v instanceof Date) return ["Date", v.getTime()];
  if (v instanceof Uint8Array) return ["Uint8Array", [...v]];
  if (v instanceof Map) return ["Map", [...v]];
  return {
    array: Array.isArray(v),
    proto: Object.getPrototypeOf(v) === Object.prototype
      ? "Object"
      : Array.isArray(v)
      ? "Array"
      : String(Object.getPrototypeOf(v)),
    keys: Object.keys(v),
    values: Object.keys(v).map((k) =>
      describe((v as Record<string, unknown>)[k])
    ),
  };
}

Deno.test("cloneSpec() copies what structuredClone copies, prototypes, holes and __proto__ keys included", () => {
  for (const [i, v] of VALUES.entries()) {
    const ours = cloneSpec(v);
    assertEquals(describe(ours), describe(structuredClone(v)), `VALUES[${i}]`);
    if (typeof v === "object" && v !== null) assert(ours !== v, "not a copy");
  }
  assertEquals(({} as Record<string, unknown>).polluted, undefined);
});

Deno.test("cloneSpec() copies deeply, handles cycles, and refuses functions as structuredClone does", () => {
  const spec = { a: { b: [1, 2] } };
  const copy = cloneSpec(spec);
  copy.a.b.push(3);
  assertEquals(spec.a.b, [1, 2]);
  const cyclic: Record<string, unknown> = { name: "c" };
  cyclic.self = cyclic;
  const c = cloneSpec(cyclic);
  assert(c.self === c && c !== cyclic, "cycle kept, as structuredClone does");
  let threw = "";
  try {
    cloneSpec({ f: () => 1 });
  } catch (e) {
    threw = (e as Error).name;
  }
  assertEquals(threw, "DataCloneError");
});

Deno.test("store reads are copies: a caller changing what list() gave does not change the store", () => {
  const store = new ResourceStore([{
    type: "things",
    sensitive: ["secret"],
  } as never]);
  store.set("things", "a", { secret: "s", list: [1] });
  const [r] = store.list<{ secret: string; list: number[] }>("things");
  r!.spec.list.push(2);
  assertEquals(r!.spec.secret, "(redacted)");
  assertEquals(
    store.list<{ list: number[] }>("things", { includeSensitive: true })[0]!
      .spec,
    { secret: "s", list: [1] } as never,
  );
});
