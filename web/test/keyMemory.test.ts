/** Keys remembered per link across calls (src/keyMemory.ts), on an in-memory fake of localStorage. */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { KeyMemory } from '../src/keyMemory';

function fakeStorage(): Pick<Storage, 'getItem' | 'setItem'> {
  const items = new Map<string, string>();
  return { getItem: (k) => items.get(k) ?? null, setItem: (k, v) => void items.set(k, v) };
}

test('a link seen for the first time, or again with its key, is not new; another key on it is, for the whole stay', () => {
  const storage = fakeStorage();
  const first = new KeyMemory('s1', storage);
  assert.equal(first.isNewKey('link-a', 'k1'), false);
  const second = new KeyMemory('s1', storage); // the next call
  assert.equal(second.isNewKey('link-a', 'k1'), false);
  assert.equal(second.isNewKey('link-a', 'k2'), true);
  assert.equal(second.isNewKey('link-a', 'k2'), true, 'still new later in the same stay');
  assert.equal(new KeyMemory('s1', storage).isNewKey('link-a', 'k2'), false, 'known by the call after');
});

test('keys are remembered per summit', () => {
  const storage = fakeStorage();
  new KeyMemory('s1', storage).isNewKey('link-a', 'k1');
  assert.equal(new KeyMemory('s2', storage).isNewKey('link-a', 'k2'), false);
});

test('what in storage is not a list of keys is ignored', () => {
  const storage = fakeStorage();
  storage.setItem('parley.keys.s1', '{"link-a": 5, "link-b": ["k1", 7]}');
  const memory = new KeyMemory('s1', storage);
  assert.equal(memory.isNewKey('link-a', 'k2'), false);
  assert.equal(memory.isNewKey('link-b', 'k2'), true);
  storage.setItem('parley.keys.s2', '{"link-a": ');
  assert.equal(new KeyMemory('s2', storage).isNewKey('link-a', 'k2'), false);
});
