/**
 * Who is really in the call: the key group (the MLS tree, as davey lists it after every commit
 * and welcome) held against the roster the server sends. Sans-IO: the DAVE member feeds it the
 * roster, the key group and the keys the Add proposals carry, with the time; it answers with each
 * member's status, the alarms to raise, and whether outgoing media must be held.
 *
 * The server is not trusted to say who listens. A member of the key group holds every media key,
 * so the key group, not the roster, is who is in the call. The rules:
 * - A member of the key group the roster does not explain is *hidden*: an alarm names it, it
 *   is shown as an unknown member, and this device sends nothing while it is in the group.
 * - Grace for departures: the server drops a leaving device from the roster when it proposes its
 *   removal, and a member commits that removal moments later. A user id that left the roster less
 *   than `LEAVING_GRACE_MS` ago is *leaving*, not hidden. (Media still flows to it in that
 *   window: that is the bound on how long a server can keep a device it dropped from the roster.)
 * - A roster entry that has not reached the key group `JOIN_BOUND_MS` after this device joined the
 *   group (or after the entry appeared, whichever is later) is *not in the group*: an alarm, no hold (it
 *   hears nothing; the roster is what lies).
 * - Each user id keeps one signature key for good: the server derives user ids from the key a
 *   device identifies with. A second key for one user id (an Add carrying another key than an
 *   earlier Add or the roster's `key`) is a key swap: an alarm, and from then on this device sends
 *   nothing while that user id is in the key group, whichever key its leaf holds now. A server
 *   that swapped a key once can swap it back and forth; the user id is not trusted again in this
 *   stay (leaving and rejoining the call starts afresh, after comparing the pairwise code).
 */

import type { AlarmKind, MembershipStatus } from '../generated/codes';

/** A roster entry should be in the key group this long after it could be: a join takes a few seconds. */
export const JOIN_BOUND_MS = 20_000;

/**
 * A device that left the roster may stay in the key group this long: the removal is proposed at
 * once, but it waits for a member's commit (commit races, the 2 s transition timeout, a slow
 * member), which takes well under this on a working server.
 */
export const LEAVING_GRACE_MS = 15_000;

/** What the roster says of one device (`key`: base64url of its signature key; null if not said). */
export interface RosterDevice {
  userId: string;
  key: string | null;
}

/**
 * A member's status (`MembershipStatus`, a code set of parley.protocol that the Python SDK names
 * alike): `in_call`: in the roster and in the key group with the key it joined with; `joining`:
 * in the roster, not yet in the key group (within `JOIN_BOUND_MS`); `not_in_group`: in the roster,
 * never reached the key group; `leaving`: in the key group, left the roster moments ago (within
 * `LEAVING_GRACE_MS`); `hidden`: in the key group, not in the roster: someone the server hides;
 * `key_changed`: in the key group, and its user id came with more than one signature key.
 */
export interface MemberView {
  userId: string;
  status: MembershipStatus;
}

export interface MembershipAlarm {
  reason: AlarmKind;
  userId: string;
  detail: string;
}

interface KeyRecord {
  /** The first key seen for this user id (ours: our own key). */
  first: string;
  /** Another key was seen for it since. */
  changed: boolean;
}

const HOLDING: ReadonlySet<MembershipStatus> = new Set<MembershipStatus>(['hidden', 'key_changed']);

export class Membership {
  private roster = new Map<string, { since: number }>();
  /** When each user id left the roster. */
  private readonly departed = new Map<string, number>();
  /** The key group's user ids, or null while this device is in no group. */
  private keyGroup: ReadonlySet<string> | null = null;
  /** When this device last entered a group (a welcome, or founding one). */
  private joinedAt = 0;
  private readonly keys = new Map<string, KeyRecord>();
  private readonly raised = new Set<string>();
  private pending: MembershipAlarm[] = [];

  constructor(
    readonly selfId: string,
    selfKey: string,
  ) {
    this.keys.set(selfId, { first: selfKey, changed: false });
  }

  /** The roster op, as the server last sent it. */
  setRoster(devices: readonly RosterDevice[], now: number): void {
    const next = new Map<string, { since: number }>();
    for (const device of devices) {
      next.set(device.userId, this.roster.get(device.userId) ?? { since: now });
      this.departed.delete(device.userId);
      if (device.key !== null) this.noteKey(device.userId, device.key, 'the roster');
    }
    for (const id of this.roster.keys()) if (!next.has(id)) this.departed.set(id, now);
    this.roster = next;
  }

  /** The key group after a commit or welcome (null: this device left it, or the group is re-created). */
  setKeyGroup(userIds: readonly string[] | null, now: number): void {
    if (userIds !== null && this.keyGroup === null) this.joinedAt = now;
    this.keyGroup = userIds === null ? null : new Set(userIds);
  }

  /** An Add proposal (op 27) for `userId` carrying signature key `key` (base64url). */
  recordAdd(userId: string, key: string): void {
    this.noteKey(userId, key, 'an Add proposal');
  }

  private noteKey(userId: string, key: string, source: string): void {
    const record = this.keys.get(userId);
    if (record === undefined) {
      this.keys.set(userId, { first: key, changed: false });
      return;
    }
    if (key !== record.first) {
      record.changed = true;
      this.raise({
        reason: 'key_changed',
        userId,
        detail: `user ${userId} came with a different signature key in ${source} than before: the server may have swapped its key`,
      });
    }
  }

  private raise(alarm: MembershipAlarm): void {
    const id = `${alarm.reason}:${alarm.userId}`;
    if (this.raised.has(id)) return;
    this.raised.add(id);
    this.pending.push(alarm);
  }

  private status(userId: string, now: number): MembershipStatus {
    const inGroup = this.keyGroup?.has(userId) ?? false;
    const record = this.keys.get(userId);
    if (inGroup && record?.changed === true) return 'key_changed';
    const entry = this.roster.get(userId);
    if (inGroup && entry) return 'in_call';
    if (inGroup) {
      const left = this.departed.get(userId);
      return left !== undefined && now - left < LEAVING_GRACE_MS ? 'leaving' : 'hidden';
    }
    if (entry === undefined || this.keyGroup === null) return 'joining';
    return now - Math.max(entry.since, this.joinedAt) > JOIN_BOUND_MS ? 'not_in_group' : 'joining';
  }

  /** Every device of the roster and of the key group, with its status. */
  members(now: number): MemberView[] {
    const ids = new Set([...this.roster.keys(), ...(this.keyGroup ?? [])]);
    return [...ids].map((userId) => ({ userId, status: this.status(userId, now) }));
  }

  /** Must outgoing media be held? True while the key group holds a hidden or swapped member. */
  held(now: number): boolean {
    return this.members(now).some((m) => HOLDING.has(m.status));
  }

  /** The alarms raised since the last call: each reason once per user id. */
  takeAlarms(now: number): MembershipAlarm[] {
    for (const { userId, status } of this.members(now)) {
      if (status === 'hidden') {
        this.raise({
          reason: 'hidden_member',
          userId,
          detail: `user ${userId} is in the key group but not in the roster: it can decrypt the call`,
        });
      } else if (status === 'not_in_group') {
        this.raise({
          reason: 'not_in_group',
          userId,
          detail: `user ${userId} is in the roster but has not joined the key group after ${JOIN_BOUND_MS / 1000} s`,
        });
      }
    }
    const out = this.pending;
    this.pending = [];
    return out;
  }
}
