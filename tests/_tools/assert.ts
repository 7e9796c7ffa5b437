/**
 * Minimal assertions for tests (JSR's @std/assert is not reachable here).
 *
 * @module
 */

/** Thrown when an assertion fails. */
export class AssertionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

function show(value: unknown): string {
  return Deno.inspect(value, {
    depth: 8,
    colors: false,
    strAbbreviateSize: 4000,
    iterableLimit: 500,
  });
}

/** Structural equality: plain objects, arrays, typed arrays, Maps, Sets, Dates, primitives. */
export function equal(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (
    typeof a !== "object" || typeof b !== "object" || a === null || b === null
  ) return false;
  if (a instanceof Date && b instanceof Date) {
    return a.getTime() === b.getTime();
  }
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) {
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    return a.constructor === b.constructor && x.length === y.length &&
      x.every((v, i) => v === y[i]);
  }
  if (a instanceof Map && b instanceof Map) {
    return a.size === b.size &&
      [...a].every(([k, v]) => b.has(k) && equal(v, b.get(k)));
  }
  if (a instanceof Set && b instanceof Set) {
    return a.size === b.size && [...a].every((v) => b.has(v));
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) =>
    (a as Record<string, unknown>)[k] !== undefined
  );
  const kb = Object.keys(b).filter((k) =>
    (b as Record<string, unknown>)[k] !== undefined
  );
  if (ka.length !== kb.length) return false;
  return ka.every((k) =>
    equal((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])
  );
}

export function assert(
  condition: unknown,
  message = "expected a truthy value",
): asserts condition {
  if (!condition) throw new AssertionError(message);
}

export function assertEquals<T>(
  actual: T,
  expected: T,
  message?: string,
): void {
  if (!equal(actual, expected)) {
    throw new AssertionError(
      `${message ? message + ": " : ""}values differ\nactual:   ${
        show(actual)
      }\nexpected: ${show(expected)}`,
    );
  }
}

export function assertNotEquals<T>(
  actual: T,
  expected: T,
  message?: string,
): void {
  if (equal(actual, expected)) {
    throw new AssertionError(
      `${message ? message + ": " : ""}both are ${show(actual)}`,
    );
  }
}

export function assertMatch(
  actual: string,
  pattern: RegExp,
  message?: string,
): void {
  if (!pattern.test(actual)) {
    throw new AssertionError(
      `${message ? message + ": " : ""}${
        show(actual)
      } does not match ${pattern}`,
    );
  }
}

export function assertStringIncludes(
  actual: string,
  expected: string,
  message?: string,
): void {
  if (!actual.includes(expected)) {
    throw new AssertionError(
      `${message ? message + ": " : ""}${show(actual)} does not include ${
        show(expected)
      }`,
    );
  }
}

// deno-lint-ignore no-explicit-any
type ErrorClass<E extends Error> = new (...args: any[]) => E;

/** Asserts that `fn` throws (optionally an instance of `cls` whose message includes `includes`). */
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  cls?: ErrorClass<E>,
  includes?: string,
): E {
  try {
    fn();
  } catch (e) {
    checkError(e, cls, includes);
    return e as E;
  }
  throw new AssertionError("expected the function to throw");
}

/** Async form of {@linkcode assertThrows}. */
export async function assertRejects<E extends Error = Error>(
  fn: () => Promise<unknown>,
  cls?: ErrorClass<E>,
  includes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (e) {
    checkError(e, cls, includes);
    return e as E;
  }
  throw new AssertionError("expected the promise to reject");
}

function checkError(
  e: unknown,
  cls?: ErrorClass<Error>,
  includes?: string,
): void {
  if (cls && !(e instanceof cls)) {
    throw new AssertionError(`expected ${cls.name}, got ${show(e)}`);
  }
  if (
    includes !== undefined &&
    !(e instanceof Error && e.message.includes(includes))
  ) {
    throw new AssertionError(
      `expected the error message to include ${show(includes)}, got ${show(e)}`,
    );
  }
}
