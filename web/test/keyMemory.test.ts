/** Keys remembered per link across calls (src/keyMemory.ts), on an in-memory fake of localStorage. */

import { expect, test } from 'vitest';

import { KeyMemory } from '../src/keyMemory';

function fakeStorage(): Pick<Storage, 'getItem' | 'setItem'> {
  const items = new Map<string, string>();
  return { getItem: (k) => items.get(k) ?? null, setItem: (k, v) => void items.set(k, v) };
}

test('a link seen for the first time, or again with its key, is not new; another key on it is, for the whole stay', () => {
  const storage = fakeStorage();
  const first = new KeyMemory('s1', storage);
  expect(first.isNewKey('link-a', 'k1')).toBe(false);
  const second = new KeyMemory('s1', storage); // the next call
  expect(second.isNewKey('link-a', 'k1')).toBe(false);
  expect(second.isNewKey('link-a', 'k2')).toBe(true);
  expect(second.isNewKey('link-a', 'k2'), 'still new later in the same stay').toBe(true);
  expect(new KeyMemory('s1', storage).isNewKey('link-a', 'k2'), 'known by the call after').toBe(false);
});

test('keys are remembered per summit', () => {
  const storage = fakeStorage();
  new KeyMemory('s1', storage).isNewKey('link-a', 'k1');
  expect(new KeyMemory('s2', storage).isNewKey('link-a', 'k2')).toBe(false);
});

test('what in storage is not a list of keys is ignored', () => {
  const storage = fakeStorage();
  storage.setItem('parley.keys.s1', '{"link-a": 5, "link-b": ["k1", 7]}');
  const memory = new KeyMemory('s1', storage);
  expect(memory.isNewKey('link-a', 'k2')).toBe(false);
  expect(memory.isNewKey('link-b', 'k2')).toBe(true);
  storage.setItem('parley.keys.s2', '{"link-a": ');
  expect(new KeyMemory('s2', storage).isNewKey('link-a', 'k2')).toBe(false);
});
