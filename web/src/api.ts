/** The one HTTP call the page makes: what an invitation admits to. The token goes in the body, never a URL. */

export interface InvitationInfo {
  summit: string;
  delegation: string;
  role: string;
  scheduled_start: string;
  duration_minutes: number;
  /** An interpreter's language, if the server says it (`ready` always does). */
  language?: string | null;
}

export type InvitationCheck =
  | { ok: true; info: InvitationInfo }
  /** `refused`: the server said no (show why, no join); otherwise it could not be asked (offer a retry). */
  | { ok: false; refused: boolean; reason: string };

/** `server`: the Parley server's origin, which may differ from the page's (see invite.ts). */
export async function checkInvitation(server: string, summitId: string, token: string): Promise<InvitationCheck> {
  let response: Response;
  try {
    response = await fetch(new URL('/api/invitations/check', server), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ summit_id: summitId, token }),
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
  } catch {
    return { ok: false, refused: false, reason: 'The Parley server cannot be reached. Check the network connection and try again.' };
  }
  if (response.ok) return { ok: true, info: (await response.json()) as InvitationInfo };
  if (response.status === 403 || response.status === 404 || response.status === 422) {
    let reason = 'this invitation link is not valid';
    try {
      const body = (await response.json()) as { detail?: unknown };
      if (typeof body.detail === 'string') reason = body.detail;
    } catch {
      // keep the generic reason
    }
    return { ok: false, refused: true, reason };
  }
  return { ok: false, refused: false, reason: `The Parley server answered with an error (${response.status}). Try again in a moment.` };
}
