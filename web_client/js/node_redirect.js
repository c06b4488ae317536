// Multi-node deployments: a room lives on one node, and every socket of the
// room must be connected to that node. A `join` refused with `wrong_node` is
// sent again, unchanged, on a connection to the node the error names.
// DOM-free; used by session.js.

import { ProtocolError } from "./protocol.js";

/** @typedef {import("./signaling.js").SignalingChannel} SignalingChannel */

/** Redirects in a row for one join attempt; more means the nodes disagree. */
export const MAX_REDIRECTS = 5;

/** Server trouble that passes by itself: a fresh `join` is tried again meanwhile. */
const PASSING = new Set(["store_unavailable", "draining", "node_unreachable"]);

/** The longest pause a `retry_after` may ask for before the next try. */
const MAX_PAUSE_MS = 10000;

/**
 * The node base URL of a `wrong_node` error or a `room_moved` event, or null
 * if it is not an http(s) URL (never follow anything else the server sends).
 * @param {unknown} value
 * @returns {string | null}
 */
export function nodeUrl(value) {
  if (typeof value !== "string") return null;
  try {
    const { protocol } = new URL(value);
    return protocol === "http:" || protocol === "https:" ? value : null;
  } catch {
    return null;
  }
}

/**
 * Run `attempt` (one `join`, and the lobby wait after it) on the channel's
 * current socket. On `wrong_node`, move the channel to the node named by the
 * error, closing the old socket at once (we are in no room there), and run it
 * again there.
 * @template T
 * @param {SignalingChannel} channel
 * @param {() => Promise<T>} attempt
 * @param {number} connectWaitMs
 * @returns {Promise<T>}
 * @throws {ProtocolError} what `attempt` threw; `unreachable` (final) after
 *   MAX_REDIRECTS; `node_unreachable` (transient) when a node we were sent to
 *   could not be connected to (the channel is back at the entry then);
 *   `disconnected` when the socket was swapped (`room_moved`) while joining
 */
export async function followRedirects(channel, attempt, connectWaitMs) {
  for (let redirects = 0; ; redirects += 1) {
    const generation = channel.generation;
    let result;
    try {
      result = await attempt();
    } catch (error) {
      if (!(error instanceof ProtocolError) || error.code !== "wrong_node") throw error;
      const url = nodeUrl(error.details.url);
      if (!url || redirects >= MAX_REDIRECTS) {
        channel.backToEntry()(); // a later try starts over where the page came from
        throw new ProtocolError("unreachable", "The meeting could not be reached.");
      }
      channel.moveTo(url)();
      try {
        await channel.waitConnected(connectWaitMs);
      } catch {
        // The entry may still send us to a node that died, until it is
        // replaced: retry from the entry after a pause (the caller's loop).
        channel.backToEntry()();
        throw new ProtocolError("node_unreachable", "Could not reach the meeting's server.");
      }
      continue;
    }
    if (channel.generation !== generation) {
      // The answer came on a socket that is no longer ours: join again on the current one.
      throw new ProtocolError("disconnected", "The meeting moved to another server while joining.");
    }
    return result;
  }
}

/**
 * Whether a fresh `join` that failed with `error` is worth trying again soon.
 * @param {unknown} error
 */
export function passingTrouble(error) {
  return error instanceof ProtocolError && PASSING.has(error.code);
}

/**
 * How long to wait before trying again after `error`: its `retry_after`
 * (capped), else `fallbackMs`.
 * @param {unknown} error
 * @param {number} fallbackMs
 */
export function retryPauseMs(error, fallbackMs) {
  const seconds = error instanceof ProtocolError ? error.retryAfter : null;
  return seconds === null ? fallbackMs : Math.min(MAX_PAUSE_MS, Math.max(0, seconds * 1000));
}
