/** The parts of Node's test runner and assert module the unit tests use (no @types/node needed). */

declare module 'node:test' {
  export function test(name: string, body: () => void | Promise<void>): void;
}

declare module 'node:assert/strict' {
  interface Assert {
    (value: unknown, message?: string): asserts value;
    ok(value: unknown, message?: string): asserts value;
    equal<T>(actual: unknown, expected: T, message?: string): asserts actual is T;
    deepEqual(actual: unknown, expected: unknown, message?: string): void;
    throws(body: () => unknown, expected?: unknown, message?: string): void;
  }
  const assert: Assert;
  export default assert;
}

/** CommonJS `require`, for davey's Node build (its WebAssembly package, under Node). */
declare function require(id: string): unknown;
