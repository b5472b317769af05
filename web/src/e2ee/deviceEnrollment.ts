/**
 * The device's enrollment, done in the DAVE worker because it needs the profile's private key:
 * the request is signed by it, and the certificate that comes back must certify it. The page asks
 * (`IdentityAsk`) and shows the answers; the key never leaves the worker.
 */

import { DeviceCertificate } from '../identity/certificate';
import { forgetCertificate, keepCertificate, keptCertificate } from '../identity/certificateStore';
import { DeviceClaim } from '../identity/claim';
import type { DeviceSigner } from '../identity/deviceKey';
import { acceptCertificate, makeRequest } from '../identity/enrollment';
import { Fingerprint } from '../identity/fingerprint';
import type { ClaimFields, IdentityAsk } from './messages';

/** The claim this device makes: what `ready` says of it, its key, its user id. */
export function claimOf(fields: ClaimFields, deviceKey: Uint8Array): DeviceClaim {
  return new DeviceClaim(
    fields.summitId,
    fields.delegationId,
    fields.delegation,
    fields.role,
    fields.people,
    fields.language,
    new Uint8Array(deviceKey),
    Number(fields.userId),
  );
}

/**
 * Answer one ask: `kept` the certificate text kept for the summit ('' for none), `enroll` the
 * request's text, `accept` 'ok' once the certificate is checked (and kept, if asked) (IdentityError, whose
 * message says why, otherwise), `forget` 'ok'. `accepted` hears of a certificate just accepted.
 */
export async function answerAsk(ask: IdentityAsk, deviceKey: Uint8Array, sign: DeviceSigner, accepted: (certificate: DeviceCertificate) => void): Promise<string> {
  switch (ask.what) {
    case 'kept':
      return (await keptCertificate(ask.summitId, deviceKey))?.toText() ?? '';
    case 'enroll':
      return (await makeRequest(claimOf(ask.claim, deviceKey), sign)).toText();
    case 'accept': {
      const certificate = DeviceCertificate.fromText(ask.certificate);
      await acceptCertificate(claimOf(ask.claim, deviceKey), certificate, new Fingerprint(ask.own), Math.floor(Date.now() / 1000));
      if (ask.keep) await keepCertificate(certificate);
      accepted(certificate);
      return 'ok';
    }
    case 'forget':
      await forgetCertificate(ask.summitId);
      return 'ok';
    default:
      throw new Error('an ask the worker does not answer');
  }
}
