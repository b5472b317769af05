/**
 * What an invite link's fragment carries, and where the Parley server is.
 *
 * A link the server made opens the client the server serves: `https://server/join/<summit>#<token>`,
 * and the server is the page's own origin. A delegation that serves the client from its own origin
 * (so that it runs code the delegation built, not code the server sends) names the server in the
 * fragment: `https://client.example/join/<summit>#server=<server origin>&token=<token>`
 * (`parley web-link` rewrites a link so). Fragments never reach any server.
 *
 * In a summit whose devices must be certified, the link also carries the fingerprint of the
 * device's own delegation key (`&delegation=<30 digits>`), as its officer gave it: the one anchor
 * the device trusts its delegation's pin set by (docs/identity.md). The server never sees it.
 */

import { Fingerprint } from './identity/fingerprint';

export interface Invite {
  token: string;
  /** The Parley server's origin: API calls and the signalling WebSocket go there. */
  server: string;
  /** The own delegation's key fingerprint (30 digits), or null: the link names none. */
  delegation: string | null;
}

/** The invite in a fragment (without '#'), or null when it holds none or names no http(s) server. */
export function parseFragment(fragment: string, pageOrigin: string): Invite | null {
  if (!fragment) return null;
  if (!fragment.includes('=')) return { token: fragment, server: pageOrigin, delegation: null }; // tokens are base64url and '.'
  const params = new URLSearchParams(fragment);
  const token = params.get('token');
  const named = params.get('server');
  const server = named === null ? pageOrigin : serverOrigin(named);
  const pinned = params.get('delegation');
  const delegation = pinned === null ? null : fingerprintDigits(pinned);
  // A fingerprint that does not read is a broken link, not a link without one: refuse it.
  if (pinned !== null && delegation === null) return null;
  return token && server ? { token, server, delegation } : null;
}

function fingerprintDigits(text: string): string | null {
  try {
    return Fingerprint.parse(text).digits;
  } catch {
    return null;
  }
}

function serverOrigin(text: string): string | null {
  try {
    const url = new URL(text);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.origin : null;
  } catch {
    return null;
  }
}

