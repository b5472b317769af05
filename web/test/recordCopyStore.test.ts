/** The record's copy in IndexedDB (fake-indexeddb stands in for the browser's). */
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, test } from 'vitest';

import { keepRecordCopy, keptRecordCopy } from '../src/record/copyStore';

describe('the record copy kept in a fake IndexedDB', () => {
  test('the latest copy per summit comes back; another summit has none', async () => {
    const factory = new IDBFactory();
    expect(await keptRecordCopy('s1', factory)).toBeNull();
    await keepRecordCopy('s1', '{"entries": [1]}\n', factory);
    await keepRecordCopy('s1', '{"entries": [1, 2]}\n', factory);
    expect(await keptRecordCopy('s1', factory)).toBe('{"entries": [1, 2]}\n');
    expect(await keptRecordCopy('s2', factory)).toBeNull();
  });
});
