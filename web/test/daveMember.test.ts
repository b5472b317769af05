/**
 * The checks `DaveMember` (src/e2ee/daveMember.ts) makes on every DAVE op before davey sees it,
 * and what it refuses to do before it holds a group's keys; on davey's Node build. Whole groups
 * with dave.py members are the interop suite's (tests/interop).
 */

import { beforeEach, describe, expect, test } from 'vitest';

import daveyNode from '@snazzah/davey';

import type { DaveyModule } from '../src/e2ee/davey';
import { DaveMember, DaveOpError, Op } from '../src/e2ee/daveMember';
import type { AlarmReason } from '../src/e2ee/messages';

const davey = daveyNode as unknown as DaveyModule;
const USER_ID = '1090123456789012345'; // above 2**53: user ids travel as decimal strings

let alarms: [AlarmReason, string][];
let member: DaveMember;

beforeEach(() => {
  alarms = [];
  member = new DaveMember(davey, USER_ID, '77', davey.generateP256Keypair(), (reason, detail) => alarms.push([reason, detail]));
});

describe('malformed ops are refused, not guessed at', () => {
  test.each([
    ['a transition id beyond u16', { op: Op.PREPARE_TRANSITION, d: { transition_id: 65_536, protocol_version: 1 } }, /transition_id/],
    ['a missing protocol version', { op: Op.PREPARE_TRANSITION, d: { transition_id: 3 } }, /protocol_version/],
    ['a fractional epoch', { op: Op.PREPARE_EPOCH, d: { epoch: 1.5, protocol_version: 1 } }, /epoch/],
    ['user ids that are not a list', { op: Op.CLIENTS_CONNECT, d: { user_ids: '5' } }, /user_ids/],
    ['a user id that is not decimal', { op: Op.CLIENTS_CONNECT, d: { user_ids: ['5e3'] } }, /decimal/],
    ['a user id as an unsafe JS number', { op: Op.CLIENT_DISCONNECT, d: { user_id: 2 ** 60 } }, /decimal/],
    ['an opcode DAVE has not', { op: 99, d: {} }, /unknown JSON opcode 99/],
  ])('%s', (_name, message, error) => {
    expect(() => member.receiveJson(message)).toThrow(DaveOpError);
    expect(() => member.receiveJson(message)).toThrow(error);
  });

  test('binary frames too short for sequence and opcode, or with an unknown opcode', () => {
    expect(() => member.receiveBinary(new Uint8Array([0, 1]))).toThrow(DaveOpError);
    expect(() => member.receiveBinary(new Uint8Array([0, 1, 99, 0]))).toThrow(/unknown binary opcode 99/);
  });

  test('a well-formed op is taken: the member answers a version-keeping transition with ready (23)', () => {
    expect(member.receiveJson({ op: Op.CLIENTS_CONNECT, d: { user_ids: ['5', 6] } })).toStrictEqual([]);
    expect(member.receiveJson({ op: Op.PREPARE_TRANSITION, d: { transition_id: 8, protocol_version: 1 } })).toStrictEqual([
      { json: { op: Op.READY_FOR_TRANSITION, d: { transition_id: 8 } } },
    ]);
  });
});

describe('never in the clear', () => {
  test('a downgrade to protocol version 0 gets no ready and raises an alarm, again when executed', () => {
    expect(member.receiveJson({ op: Op.PREPARE_TRANSITION, d: { transition_id: 7, protocol_version: 0 } })).toStrictEqual([]);
    expect(member.receiveJson({ op: Op.EXECUTE_TRANSITION, d: { transition_id: 7 } })).toStrictEqual([]);
    expect(alarms.map(([reason]) => reason)).toStrictEqual(['downgrade', 'downgrade']);
    expect(member.receiveJson({ op: Op.PREPARE_EPOCH, d: { epoch: 2, protocol_version: 0 } })).toStrictEqual([]);
    expect(alarms).toHaveLength(3);
  });

  test('before any group it has no sending key: frames are dropped, and nothing decrypts', () => {
    const opus = new Uint8Array([0xfc, 1, 2, 3, 4, 5, 6, 7]);
    expect(member.encrypt('audio', opus)).toBeNull();
    expect(member.decrypt('5', 'audio', opus)).toStrictEqual({ ok: false, reason: 'no_key' });
    expect(member.snapshot()).toMatchObject({ state: 'waiting', canSend: false, groupCode: null, epoch: null });
  });
});
