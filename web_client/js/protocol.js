// Protocol v1 constants and types (docs/protocol.md). DOM-free.

export const PROTOCOL_VERSION = 1;

/** How long a request waits for its acknowledgement. */
export const ACK_TIMEOUT_MS = 10000;

export const ROOM_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** @typedef {"microphone" | "camera" | "screen"} Source */
export const SOURCES = /** @type {const} */ (["microphone", "camera", "screen"]);

/**
 * @typedef {object} Participant
 * @property {string} id
 * @property {string} name
 * @property {number} joined_at
 * @property {boolean} audio_muted
 * @property {boolean} video_muted
 * @property {boolean} screen_sharing
 * @property {boolean} connected
 * @property {Role} [role]
 * @property {boolean} [mic_locked] a host locked this person's microphone
 * @property {PresenceMode} [mode] how this person is present
 * @property {string | null} [zone] the physical room (acoustic zone) they sit in
 */

/**
 * `remote`: their own device, somewhere else; `companion`: their own laptop or
 * phone inside a meeting room (no microphone, no speaker); `room`: the meeting
 * room's own camera and speakerphone.
 * @typedef {"remote" | "companion" | "room"} PresenceMode
 */

/** @typedef {"host" | "co_host" | "participant"} Role */

/**
 * One m-section of a subscriber offer that carries media.
 * @typedef {object} Track
 * @property {string} mid
 * @property {"audio" | "video"} kind
 * @property {string} producer_id
 * @property {string} participant_id
 * @property {Source} source
 */

/**
 * @typedef {object} JoinResult
 * @property {number} protocol
 * @property {string} room
 * @property {string} participant_id
 * @property {string} resume_token
 * @property {boolean} resumed
 * @property {Participant[]} participants
 * @property {RTCIceServer[]} ice_servers
 * @property {Meeting} [meeting]
 * @property {{simulcast?: SimulcastLayer[], simulcast_reference?: {width: number, height: number}}} [media] how to publish the camera (bitrates for a camera of `simulcast_reference` size)
 */

/**
 * One camera layer the server asks for (lowest first), see docs/protocol.md `join`.
 * @typedef {object} SimulcastLayer
 * @property {string} rid
 * @property {number} scale_down
 * @property {number} max_bitrate
 */

/**
 * The acknowledgement of a `join` that has to wait in the lobby.
 * @typedef {object} LobbyWait
 * @property {true} waiting
 * @property {string} room
 * @property {string} lobby_id
 */

/**
 * The meeting as one participant sees it (join acknowledgement, `meeting_state`).
 * @typedef {object} Meeting
 * @property {string} meeting_id
 * @property {string | null} [title]
 * @property {Role} role
 * @property {boolean} locked
 * @property {boolean} lobby_enabled
 * @property {boolean} has_passcode
 * @property {string | null} passcode hosts and co-hosts only
 * @property {string | null} host_key hosts only
 * @property {Hand[]} hands
 * @property {ChatMessage[]} chat
 * @property {Poll[]} polls
 * @property {LobbyEntry[]} lobby hosts and co-hosts only
 * @property {boolean} mic_locked
 * @property {string | null} [spotlight] whom a host spotlighted for everyone
 * @property {{zone: string, code: string} | null} [checkin] the check-in code of this person's zone
 * @property {RecordingStatus | null} [recording] non-null while the meeting is recorded (also while paused)
 */

/**
 * @typedef {object} RecordingStatus
 * @property {"recording" | "paused"} state
 * @property {number} started_at seconds since the epoch
 */

/**
 * @typedef {object} Hand
 * @property {string} participant_id
 * @property {number} position 1, 2, … in the server's order
 * @property {number} raised_at
 */

/**
 * @typedef {object} ChatMessage
 * @property {number} id
 * @property {string} sender_id
 * @property {string} sender_name
 * @property {string} text
 * @property {number} sent_at
 */

/**
 * @typedef {object} LobbyEntry
 * @property {string} id
 * @property {string} name
 * @property {number} since
 */

/** @typedef {"single" | "multiple" | "quiz"} PollKind */

/**
 * A poll as the receiver may see it.
 * @typedef {object} Poll
 * @property {string} poll_id
 * @property {string} question
 * @property {PollKind} kind
 * @property {boolean} anonymous
 * @property {"draft" | "open" | "closed"} state
 * @property {boolean} results_shared
 * @property {{id: string, text: string}[]} options
 * @property {string[]} [correct_option_ids] hosts and co-hosts; everyone once a quiz is closed
 * @property {boolean} [voted]
 * @property {string[] | null} [my_choice] named polls only
 * @property {PollResults | null} [results]
 */

/**
 * @typedef {object} PollResults
 * @property {number} voters
 * @property {{id: string, text: string, votes: number, percent: number, correct?: boolean}[]} options
 * @property {Record<string, number>} [scores]
 */

/** The reactions the server accepts (`react`). */
export const REACTIONS = /** @type {const} */ (["👍", "👎", "👏", "❤️", "😂", "😮", "🎉", "🙏", "👋"]);

/** Longest chat message, in characters after trimming. */
export const CHAT_MAX_LENGTH = 2000;

export const POLL_MIN_OPTIONS = 2;
export const POLL_MAX_OPTIONS = 20;

/**
 * @typedef {object} SubscriberOffer
 * @property {number} revision
 * @property {string} sdp
 * @property {Track[]} tracks
 * @property {number} [tracks_version]
 */

/**
 * A `subscriber_tracks`: the tracks of the m-sections offered so far, sent
 * alone when a track starts on a spare m-section already answered for.
 * @typedef {object} SubscriberTracks
 * @property {number} revision
 * @property {Track[]} tracks
 * @property {number} [tracks_version]
 */

/**
 * Codes that say "not now" rather than "no": the server never answered
 * (`timeout`, `disconnected`), it sent us to another node (`wrong_node`), its
 * shared state store is unreachable (`store_unavailable`), it takes no new
 * meetings (`draining`), or the node it sent us to could not be reached
 * (`node_unreachable`, client-side). Trying again later may work.
 */
export const TRANSIENT_CODES = new Set([
  "timeout",
  "disconnected",
  "wrong_node",
  "store_unavailable",
  "draining",
  "node_unreachable",
]);

/** An error acknowledgement, or a request that got no acknowledgement at all. */
export class ProtocolError extends Error {
  /**
   * @param {string} code a stable code from docs/protocol.md, or one of the
   *   client-side codes `timeout`, `disconnected`, `node_unreachable` and `unreachable`
   * @param {string} message
   * @param {Record<string, unknown>} [details] further fields of the error object (e.g. `retry_after`)
   */
  constructor(code, message, details = {}) {
    super(message);
    this.name = "ProtocolError";
    this.code = code;
    this.details = details;
  }

  /** Seconds to wait before trying again (`rate_limited`, `store_unavailable`), or null. */
  get retryAfter() {
    const value = this.details.retry_after;
    return typeof value === "number" && Number.isFinite(value) ? value : null;
  }

  /** True when there is no verdict on the request itself: trying again later may work (TRANSIENT_CODES). */
  get transient() {
    return TRANSIENT_CODES.has(this.code);
  }
}

/** @param {string} room */
export function isValidRoom(room) {
  return ROOM_PATTERN.test(room);
}

/** Unicode "C" characters, except the joiners that build emoji such as 👩‍💻. */
const FORBIDDEN_IN_NAMES = /(?![\u200c\u200d])\p{C}/u;

/**
 * The display name as the server will see it (trimmed, runs of white space
 * collapsed), or null if it breaks the rules: 1-64 characters, no Unicode
 * "C" category characters except the zero-width (non-)joiners of emoji.
 * @param {string} name
 * @returns {string | null}
 */
export function cleanName(name) {
  const cleaned = String(name ?? "").trim().split(/\s+/u).join(" ");
  const length = [...cleaned].length; // code points, as the server counts them
  if (length < 1 || length > 64 || FORBIDDEN_IN_NAMES.test(cleaned)) {
    return null;
  }
  return cleaned;
}
