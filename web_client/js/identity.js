// What this browser sends with `join` to be recognised: a random client id kept
// in localStorage, and the host key of a room kept in sessionStorage (so a
// reload of a host link stays host).

const CLIENT_ID_KEY = "conf.client-id";
const CLIENT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

/**
 * This browser's client id (created once, ~132 random bits).
 * @returns {string}
 */
export function clientId() {
  try {
    const stored = localStorage.getItem(CLIENT_ID_KEY);
    if (stored && CLIENT_ID_PATTERN.test(stored)) return stored;
  } catch {
    // storage blocked: a fresh id per page
  }
  const bytes = new Uint8Array(22);
  crypto.getRandomValues(bytes);
  const id = [...bytes].map((b) => ALPHABET[b % 64]).join("");
  try {
    localStorage.setItem(CLIENT_ID_KEY, id);
  } catch {
    // private mode: nothing to remember
  }
  return id;
}

/**
 * The host key for this room: from the link (`?host_key=…`, then remembered for
 * this tab) or remembered from earlier in this tab; null if none.
 * @param {string} room
 * @param {string | null} fromUrl
 * @returns {string | null}
 */
export function hostKeyFor(room, fromUrl) {
  const key = `conf.host-key.${room}`;
  try {
    if (fromUrl) {
      sessionStorage.setItem(key, fromUrl);
      return fromUrl;
    }
    return sessionStorage.getItem(key);
  } catch {
    return fromUrl || null;
  }
}
