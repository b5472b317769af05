/**
 * What an invite link's fragment carries, and where the Parley server is.
 *
 * A link the server made opens the client the server serves: `https://server/join/<summit>#<token>`,
 * and the server is the page's own origin. A delegation that serves the client from its own origin
 * (so that it runs code the delegation built, not code the server sends) names the server in the
 * fragment: `https://client.example/join/<summit>#server=<server origin>&token=<token>`
 * (`parley web-link` rewrites a link so). Fragments never reach any server.
 */

export interface Invite {
  token: string;
  /** The Parley server's origin: API calls and the signalling WebSocket go there. */
  server: string;
}

/** The invite in a fragment (without '#'), or null when it holds none or names no http(s) server. */
export function parseFragment(fragment: string, pageOrigin: string): Invite | null {
  if (!fragment) return null;
  if (!fragment.includes('=')) return { token: fragment, server: pageOrigin }; // tokens are base64url and '.'
  const params = new URLSearchParams(fragment);
  const token = params.get('token');
  const named = params.get('server');
  const server = named === null ? pageOrigin : serverOrigin(named);
  return token && server ? { token, server } : null;
}

function serverOrigin(text: string): string | null {
  try {
    const url = new URL(text);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.origin : null;
  } catch {
    return null;
  }
}

