// The pre-join page's connectivity self-test: which paths a meeting can take
// from this network. Up to four checks run at once, each with its own
// RTCPeerConnection that only gathers candidates (nothing is sent to the
// meeting): "udp" (a server-reflexive candidate from a STUN server, or from a
// TURN server asked as STUN: UDP leaves this network), and a relay candidate
// through TURN over UDP, TCP and TLS (`iceTransportPolicy: "relay"` with that
// one URL). The ICE servers come from `GET /api/v1/ice-servers`
// (docs/rest-api.md). DOM-free: results are data; ui/connectivity_panel.js
// shows them.

import { errorText, t } from "./i18n.js";

/** @typedef {"udp" | "turn-udp" | "turn-tcp" | "turn-tls"} CheckName */
/** @typedef {"ok" | "failed" | "not-configured"} CheckStatus */

/**
 * One check's outcome.
 * @typedef {object} CheckResult
 * @property {CheckName} check
 * @property {CheckStatus} status
 * @property {string | null} url the URL tested (null: not configured)
 * @property {number | null} port its port, for words like "port 443"
 * @property {string | null} detail what was seen (the candidate's address) or why it failed
 */

/**
 * What the whole check says: `direct` (UDP works), `relay` (only a TURN
 * relay over TCP or TLS works), `blocked` (every configured path failed),
 * `untested` (the server configures no STUN or TURN to test against).
 * @typedef {"direct" | "relay" | "blocked" | "untested"} Verdict
 */

/**
 * An RTCIceServer as the server gives it.
 * @typedef {object} IceServer
 * @property {string | string[]} urls
 * @property {string} [username]
 * @property {string} [credential]
 */

/** @type {CheckName[]} */
export const CHECK_NAMES = ["udp", "turn-udp", "turn-tcp", "turn-tls"];

/** How long one check may take: a blocked path gives no answer at all. */
export const CHECK_TIMEOUT_MS = 8000;

/** @type {Record<string, number>} */
const DEFAULT_PORTS = { stun: 3478, turn: 3478, stuns: 5349, turns: 5349 };

/** What a relay candidate's `relayProtocol` must say for each relay check. */
/** @type {Partial<Record<CheckName, string>>} */
const RELAY_PROTOCOL = { "turn-udp": "udp", "turn-tcp": "tcp", "turn-tls": "tls" };

const ICE_URL = /^(stuns?|turns?):(\[[0-9A-Fa-f:.]+\]|[^:?\s]+)(?::(\d{1,5}))?(?:\?transport=(udp|tcp))?$/i;

/**
 * A STUN/TURN URL's parts, or null if it is not one.
 * @param {string} url
 * @returns {{scheme: string, host: string, port: number, transport: string | null} | null}
 */
export function parseIceUrl(url) {
  const match = ICE_URL.exec(url.trim());
  if (!match) return null;
  const scheme = match[1].toLowerCase();
  const port = match[3] ? Number(match[3]) : DEFAULT_PORTS[scheme];
  return { scheme, host: match[2], port, transport: match[4]?.toLowerCase() ?? null };
}

/**
 * One planned check: the single ICE server it uses, or none (not configured).
 * @typedef {object} CheckPlan
 * @property {CheckName} check
 * @property {IceServer | null} server
 * @property {string | null} url
 * @property {number | null} port
 * @property {boolean} relay `iceTransportPolicy: "relay"`: only a relay candidate counts
 */

/**
 * Which URL each check uses. "udp" prefers a stun: URL and otherwise asks a
 * UDP TURN server as STUN (coturn answers binding requests on its TURN port).
 * @param {IceServer[]} iceServers
 * @returns {CheckPlan[]}
 */
export function planChecks(iceServers) {
  /** @type {{url: string, parsed: NonNullable<ReturnType<typeof parseIceUrl>>, server: IceServer}[]} */
  const entries = [];
  for (const server of iceServers) {
    for (const url of Array.isArray(server.urls) ? server.urls : [server.urls]) {
      const parsed = parseIceUrl(url);
      if (parsed) entries.push({ url, parsed, server });
    }
  }
  const find = (/** @type {(p: NonNullable<ReturnType<typeof parseIceUrl>>) => boolean} */ test) =>
    entries.find((entry) => test(entry.parsed)) ?? null;
  const turnUdp = find((p) => p.scheme === "turn" && p.transport !== "tcp");
  const relays = {
    "turn-udp": turnUdp,
    "turn-tcp": find((p) => p.scheme === "turn" && p.transport === "tcp"),
    "turn-tls": find((p) => p.scheme === "turns"),
  };
  const stun = find((p) => p.scheme === "stun");
  /** @type {CheckPlan[]} */
  const plans = [];
  if (stun) plans.push({ check: "udp", server: { urls: stun.url }, url: stun.url, port: stun.parsed.port, relay: false });
  else if (turnUdp) {
    const { host, port } = turnUdp.parsed;
    const url = `stun:${host}:${port}`;
    plans.push({ check: "udp", server: { urls: url }, url, port, relay: false });
  } else plans.push({ check: "udp", server: null, url: null, port: null, relay: false });
  for (const check of /** @type {const} */ (["turn-udp", "turn-tcp", "turn-tls"])) {
    const entry = relays[check];
    plans.push(
      entry
        ? {
            check,
            server: { urls: entry.url, username: entry.server.username, credential: entry.server.credential },
            url: entry.url,
            port: entry.parsed.port,
            relay: true,
          }
        : { check, server: null, url: null, port: null, relay: false },
    );
  }
  return plans;
}

/**
 * A candidate's type, from the object or, in browsers without `type`, its SDP line.
 * @param {RTCIceCandidate} candidate
 * @returns {string | null}
 */
function candidateType(candidate) {
  if (candidate.type) return candidate.type;
  const match = / typ (\w+)/.exec(candidate.candidate);
  return match ? match[1] : null;
}

/**
 * Run one planned check: gather candidates until the one that proves the path
 * appears, gathering ends, or `timeoutMs` passes; the connection is closed
 * in every case.
 * @param {CheckPlan} plan
 * @param {number} timeoutMs
 * @param {typeof RTCPeerConnection} PeerConnection
 * @returns {Promise<CheckResult>}
 */
export async function runCheck(plan, timeoutMs = CHECK_TIMEOUT_MS, PeerConnection = RTCPeerConnection) {
  const base = { check: plan.check, url: plan.url, port: plan.port };
  if (!plan.server) return { ...base, status: "not-configured", detail: null };
  /** @type {RTCPeerConnection | null} */
  let pc = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  try {
    pc = new PeerConnection({ iceServers: [plan.server], iceTransportPolicy: plan.relay ? "relay" : "all" });
    const connection = pc;
    const outcome = new Promise((resolve) => {
      /** @type {string | null} */
      let lastError = null;
      timer = setTimeout(
        () => resolve({ status: "failed", detail: lastError ?? `no answer within ${Math.round(timeoutMs / 1000)} s` }),
        timeoutMs,
      );
      connection.addEventListener("icecandidateerror", (event) => {
        const error = /** @type {RTCPeerConnectionIceErrorEvent} */ (event);
        lastError = `${error.errorCode} ${error.errorText}`.trim();
      });
      connection.addEventListener("icecandidate", (event) => {
        const candidate = event.candidate;
        if (!candidate) {
          resolve(endOfGathering(plan, lastError));
          return;
        }
        const type = candidateType(candidate);
        const where = candidate.address ? `${candidate.address}:${candidate.port}` : null;
        if (plan.relay && type === "relay") {
          // Chromium says which transport reached the relay; with one URL
          // configured it can only be that one, but confirm it where we can.
          const protocol = /** @type {RTCIceCandidate & {relayProtocol?: string}} */ (candidate).relayProtocol;
          if (!protocol || protocol === RELAY_PROTOCOL[plan.check]) resolve({ status: "ok", detail: where });
        } else if (!plan.relay && type === "srflx") {
          resolve({ status: "ok", detail: where });
        }
      });
    });
    connection.createDataChannel("connectivity-check");
    await connection.setLocalDescription(await connection.createOffer());
    const { status, detail } = /** @type {{status: CheckStatus, detail: string | null}} */ (await outcome);
    return { ...base, status, detail };
  } catch (error) {
    // A URL or credential the browser refuses outright is a failed path too.
    return { ...base, status: "failed", detail: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
    pc?.close();
  }
}

/**
 * Gathering ended without the candidate we waited for. For "udp" that still
 * proves UDP when no STUN request failed: browsers drop a server-reflexive
 * candidate equal to a host candidate (a host without NAT), and a STUN server
 * that gets no packets makes the request fail (error 701) before gathering ends.
 * @param {CheckPlan} plan
 * @param {string | null} lastError
 * @returns {{status: CheckStatus, detail: string | null}}
 */
function endOfGathering(plan, lastError) {
  if (!plan.relay && lastError === null) return { status: "ok", detail: "no address translation" };
  return { status: "failed", detail: lastError ?? (plan.relay ? "no relay address" : "no reflexive address") };
}

/**
 * Run every check at once.
 * @param {IceServer[]} iceServers from `GET /api/v1/ice-servers`
 * @param {{timeoutMs?: number, onResult?: (result: CheckResult) => void,
 *   PeerConnection?: typeof RTCPeerConnection}} [options] `onResult` hears each
 *   result as soon as it is known
 * @returns {Promise<CheckResult[]>} in the order of {@link CHECK_NAMES}
 */
export async function runConnectivityCheck(iceServers, options = {}) {
  const { timeoutMs = CHECK_TIMEOUT_MS, onResult, PeerConnection = RTCPeerConnection } = options;
  return Promise.all(
    planChecks(iceServers).map(async (plan) => {
      const result = await runCheck(plan, timeoutMs, PeerConnection);
      onResult?.(result);
      return result;
    }),
  );
}

/**
 * What the results mean for joining a meeting.
 * @param {CheckResult[]} results
 * @returns {Verdict}
 */
export function verdict(results) {
  const status = (/** @type {CheckName} */ check) => results.find((r) => r.check === check)?.status;
  if (status("udp") === "ok" || status("turn-udp") === "ok") return "direct";
  if (status("turn-tcp") === "ok" || status("turn-tls") === "ok") return "relay";
  if (results.every((r) => r.status === "not-configured")) return "untested";
  return "blocked";
}

/** `GET /api/v1/ice-servers` refused or unreachable. */
export class IceServersUnavailable extends Error {
  /**
   * @param {string} message
   * @param {number | null} retryAfter seconds (rate limited), or null
   */
  constructor(message, retryAfter = null) {
    super(message);
    this.name = "IceServersUnavailable";
    this.retryAfter = retryAfter;
  }
}

/**
 * The ICE servers to test, with fresh short-lived TURN credentials.
 * @param {typeof fetch} [fetchImpl]
 * @returns {Promise<IceServer[]>}
 * @throws {IceServersUnavailable}
 */
export async function fetchIceServers(fetchImpl = fetch) {
  let response;
  try {
    response = await fetchImpl("/api/v1/ice-servers", { cache: "no-store" });
  } catch (error) {
    throw new IceServersUnavailable(t("connectivity.why_unreachable", { detail: error instanceof Error ? error.message : String(error) }));
  }
  /** @type {any} */
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const retry = Number(body?.error?.retry_after);
    // The REST error's code in the page's language (rate_limited, store_unavailable, …).
    const why = errorText(body?.error?.code, body?.error?.message ?? `HTTP ${response.status}`);
    throw new IceServersUnavailable(why, Number.isFinite(retry) ? retry : null);
  }
  return Array.isArray(body?.ice_servers) ? body.ice_servers : [];
}
