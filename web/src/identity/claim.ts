/**
 * What a device says it is, and what its delegation's officer vouches for by signing it: the
 * same fields, in the same order, as parley.identity.claim (docs/identity.md, "Claim").
 *
 *     text   summit_id       1-64 of [A-Za-z0-9_-]
 *     text   delegation_id   1-64 of [A-Za-z0-9_-]
 *     text   delegation      the delegation's name
 *     text   role            host | principal | delegate | observer | press | interpreter
 *     u8 n, text people[n]   1 to 8 names
 *     text   language        an interpreter's channel (a language tag); "" for every other role
 *     opaque device_key      the device's DAVE signature key: 65-byte uncompressed P-256 point
 *     u64    user_id         its DAVE user id, 1 to 2^53 - 1
 */

import { ROLES, type Role } from '../generated/codes';
import { cleanName, MAX_PEOPLE } from '../people';
import { checkDeviceKey } from './deviceKey';
import { sameBytes, type Bytes, type Reader, type Writer } from './encoding';

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const LANGUAGE = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,4}){0,2}$/; // parley.protocol.vocabulary.LANGUAGE_PATTERN

/** A name exactly as every device shows it (cleaning leaves it unchanged): one byte form per name, so one signature per claim. */
function checkShownName(name: string, what: string): void {
  if (name === '' || cleanName(name) !== name) throw new RangeError(`${what} must be NFC, printable, without surrounding blanks`);
}

function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export class DeviceClaim {
  constructor(
    readonly summitId: string,
    readonly delegationId: string,
    readonly delegation: string,
    readonly role: Role,
    readonly people: readonly string[],
    readonly language: string | null,
    readonly deviceKey: Bytes,
    readonly userId: number,
  ) {
    for (const [what, value] of [['summit_id', summitId], ['delegation_id', delegationId]] as const) {
      if (!ID.test(value)) throw new RangeError(`${what} is 1 to 64 letters, digits, '-' or '_'`);
    }
    checkShownName(delegation, "the delegation's name");
    if (people.length < 1 || people.length > MAX_PEOPLE) throw new RangeError(`a device has 1 to ${MAX_PEOPLE} people`);
    for (const name of people) checkShownName(name, 'a name');
    if ((language !== null) !== (role === 'interpreter')) throw new RangeError('an interpreter, and only an interpreter, names a language');
    if (language !== null && !LANGUAGE.test(language)) throw new RangeError("a language is a tag such as 'en' or 'zh-Hans'");
    checkDeviceKey(deviceKey);
    if (!Number.isSafeInteger(userId) || userId < 1) throw new RangeError('a user id is from 1 to 2^53 - 1');
  }

  write(writer: Writer): Writer {
    return writer
      .text(this.summitId)
      .text(this.delegationId)
      .text(this.delegation)
      .text(this.role)
      .texts(this.people)
      .text(this.language ?? '')
      .opaque(this.deviceKey)
      .u64(this.userId);
  }

  static read(reader: Reader): DeviceClaim {
    const summitId = reader.text('summit');
    const delegationId = reader.text('delegation');
    const delegation = reader.text('name');
    const role = reader.text('role');
    const people = reader.texts('people');
    const language = reader.text('language');
    const deviceKey = reader.opaque('key');
    const userId = reader.u64('user id');
    if (!isRole(role)) throw new RangeError(`no role '${role}'`);
    if (userId >= 1n << 53n) throw new RangeError('a user id is from 1 to 2^53 - 1');
    return new DeviceClaim(summitId, delegationId, delegation, role, people, language || null, deviceKey, Number(userId));
  }

  equals(other: DeviceClaim): boolean {
    return (
      this.summitId === other.summitId &&
      this.delegationId === other.delegationId &&
      this.delegation === other.delegation &&
      this.role === other.role &&
      this.people.length === other.people.length &&
      this.people.every((name, i) => name === other.people[i]) &&
      this.language === other.language &&
      sameBytes(this.deviceKey, other.deviceKey) &&
      this.userId === other.userId
    );
  }

  /** One line for a person to read: who, which delegation, which device. */
  describe(): string {
    const role = this.language ? `${this.role} (${this.language})` : this.role;
    return `${this.people.join(', ')}: ${this.delegation} ${role}, user ${this.userId}, summit ${this.summitId}`;
  }
}
