/**
 * The signature keys this browser has seen, per summit and per invitation link, so that a device
 * that comes back on the same link with another key is shown as such ("new key since last call").
 *
 * Devices keep their key from call to call (a browser profile's key in IndexedDB, the SDK's key
 * file), and the pairwise code follows from it: the same link with a new key means a new browser
 * profile, a new machine, or someone else holding the link. Worth a look, not an alarm. The roster
 * names each device's link by an opaque tag (`link`), stable per invitation.
 *
 * Kept in localStorage under `parley.keys.<summit>`: { link tag: [keys, oldest first] }.
 */

/** Keys kept per link: a few devices per invitation, a few profile changes. */
const MAX_KEYS_PER_LINK = 8;
const MAX_LINKS = 200;

type Remembered = Record<string, string[]>;

function parse(text: string | null): Remembered {
  if (text === null) return {};
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
    const out: Remembered = {};
    for (const [link, keys] of Object.entries(value)) {
      if (Array.isArray(keys)) out[link] = keys.filter((k): k is string => typeof k === 'string');
    }
    return out;
  } catch {
    return {};
  }
}

export class KeyMemory {
  private readonly known: Remembered;
  private readonly item: string;
  /** The answer for each (link, key) as it was when first seen: it stays "new" for the whole stay. */
  private readonly answers = new Map<string, boolean>();

  constructor(
    summitId: string,
    private readonly storage: Pick<Storage, 'getItem' | 'setItem'> | null = safeLocalStorage(),
  ) {
    this.item = `parley.keys.${summitId}`;
    this.known = parse(this.storage?.getItem(this.item) ?? null);
  }

  /** Did this link come with other keys before (this call or an earlier one), and not this one? Remembers it. */
  isNewKey(link: string, key: string): boolean {
    const pair = `${link} ${key}`;
    let answer = this.answers.get(pair);
    if (answer === undefined) {
      const earlier = this.known[link];
      answer = earlier !== undefined && !earlier.includes(key);
      this.answers.set(pair, answer);
      this.remember(link, key);
    }
    return answer;
  }

  private remember(link: string, key: string): void {
    const keys = this.known[link] ?? [];
    if (keys.includes(key)) return;
    this.known[link] = [...keys, key].slice(-MAX_KEYS_PER_LINK);
    const links = Object.keys(this.known);
    for (const old of links.slice(0, Math.max(0, links.length - MAX_LINKS))) delete this.known[old];
    try {
      this.storage?.setItem(this.item, JSON.stringify(this.known));
    } catch {
      // storage full or refused: the comparison holds for this stay only
    }
  }
}

function safeLocalStorage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}
