// Meeting interaction: role, raised hands, chat, reactions, polls, lobby and the
// meeting's settings (docs/protocol.md, "Meeting interaction"). DOM-free: the
// session feeds it the join acknowledgement and the server's events; the UI
// listens to its events and calls its methods. The server is the authority:
// nothing here is decided locally (not even the order of hands).

import { errorText } from "./i18n.js";
import { ProtocolError } from "./protocol.js";
import { QuestionnaireBook } from "./questionnaire_book.js";

/** @typedef {import("./protocol.js").Meeting} Meeting */
/** @typedef {import("./protocol.js").Hand} Hand */
/** @typedef {import("./protocol.js").ChatMessage} ChatMessage */
/** @typedef {import("./protocol.js").LobbyEntry} LobbyEntry */
/** @typedef {import("./protocol.js").Poll} Poll */
/** @typedef {import("./protocol.js").PollKind} PollKind */
/** @typedef {import("./protocol.js").Participant} Participant */
/** @typedef {import("./protocol.js").Role} Role */
/** @typedef {import("./protocol.js").RecordingStatus} RecordingStatus */
/** @typedef {import("./admin_api.js").Recording} Recording */
/**
 * A recording as `recording_links` lists it: each file has a signed `url` (one
 * hour), a ready transcript signed `links` per format (json, vtt, txt), and
 * `shares_url` manages its share links for the same hour.
 * @typedef {Omit<Recording, "files" | "transcript"> & {
 *   files: {name: string, size: number, url: string}[],
 *   transcript?: (import("./admin_api.js").TranscriptStatus & {links?: Record<string, string>}) | null,
 *   shares_url?: string,
 * }} HostRecording
 */
/** @typedef {(event: string, payload: object) => Promise<Record<string, any>>} Request */

/** Keep at most this many chat messages (the server's history is 500). */
const CHAT_KEEP = 500;

/**
 * Events (CustomEvent, detail in braces):
 * - `meeting` {}: everything changed (join, resume, role change): render it all again
 * - `hands` {hands}
 * - `handcalled` {participantId, name, by, self}
 * - `chat` {message}: a new message (history comes with `meeting`)
 * - `reaction` {participantId, emoji}
 * - `polls` {}
 * - `settings` {locked, lobbyEnabled, hasPasscode, passcode}
 * - `lobby` {lobby, arrived}: arrived = entries that were not waiting before
 * - `self` {micLocked, role}: our own participant changed (microphone lock, role)
 * - `spotlight` {participantId}: a host spotlighted someone for everyone (null: nobody)
 * - `recording` {recording, previous, by}: the meeting's recording started, paused,
 *   resumed or stopped (`recording_changed`; by: a name, "api", or null when automatic)
 * - `mutedbyhost` {source, locked, by}
 * - `captions` {enabled, on}: a host turned live captions on or off, or we showed or hid them
 * - `participation` {}: a host changed the participation-points setting (`participation`)
 * - `caption` {id, participantId, name, text, final}: words of a speaker (only while `on`)
 * - `ended` {reason: "removed" | "ended", message, by}
 */
export class MeetingInteraction extends EventTarget {
  /** @param {Request} request sends one client -> server message */
  constructor(request) {
    super();
    this._request = request;
    /** The questionnaires (their own model and events: questionnaire_book.js). */
    this.questionnaires = new QuestionnaireBook((event, payload) => this._send(event, payload));
    this.reset();
  }

  /** Forget everything (after leaving); also the initial state. */
  reset() {
    /** @type {string | null} */
    this.selfId = null;
    /** @type {string | null} */
    this.meetingId = null;
    /** @type {string | null} */
    this.title = null;
    /** @type {Role} */
    this.role = "participant";
    this.locked = false;
    this.lobbyEnabled = false;
    this.hasPasscode = false;
    /** @type {string | null} hosts and co-hosts only */
    this.passcode = null;
    /** @type {string | null} hosts only */
    this.hostKey = null;
    /** a host locked our microphone */
    this.micLocked = false;
    /** @type {Hand[]} in queue order */
    this.hands = [];
    /** @type {ChatMessage[]} oldest first */
    this.chat = [];
    /** @type {Map<string, Poll>} in creation order */
    this._polls = new Map();
    /** @type {LobbyEntry[]} hosts and co-hosts only */
    this.lobby = [];
    /** @type {string | null} whom a host spotlighted for everyone */
    this.spotlight = null;
    /** @type {{zone: string, code: string} | null} the check-in code of our zone (room devices show it) */
    this.checkin = null;
    /** @type {string[] | null} whose video the server forwards to us (null: everyone's), as acknowledged */
    this.view = null;
    /** @type {RecordingStatus | null} non-null while the meeting is recorded (also while paused) */
    this.recording = null;
    /** a host turned live captions on for the meeting */
    this.captionsEnabled = false;
    /** we asked to see them (and the server agreed) */
    this.captionsOn = false;
    /** @type {string | null} the language spoken in the meeting (captions are recognized in it) */
    this.language = null;
    /** @type {{id: number, text: string, by_id: string, by_name: string, at: number}[]} marked by hosts, oldest first */
    this.decisions = [];
    /** @type {{enabled: boolean, visibility: "host" | "everyone" | "off", weights: Record<string, number>} | null} participation points (docs/protocol.md) */
    this.participation = null;
  }

  /** Host or co-host. */
  get isModerator() {
    return this.role === "host" || this.role === "co_host";
  }

  get isHost() {
    return this.role === "host";
  }

  /** @returns {Poll[]} */
  get polls() {
    return [...this._polls.values()];
  }

  /** Our own hand's position, or null. */
  get myHandPosition() {
    return this.selfId ? this.handPosition(this.selfId) : null;
  }

  /**
   * @param {string} participantId
   * @returns {number | null}
   */
  handPosition(participantId) {
    return this.hands.find((hand) => hand.participant_id === participantId)?.position ?? null;
  }

  /**
   * May we moderate this person (mute, lock, stop their camera or screen)?
   * @param {Participant} target
   */
  canModerate(target) {
    if (target.id === this.selfId || !this.isModerator) return false;
    return this.isHost || target.role !== "host";
  }

  /** @param {Participant} target */
  canRemove(target) {
    if (target.id === this.selfId || !this.isModerator) return false;
    return this.isHost ? target.role !== "host" : (target.role ?? "participant") === "participant";
  }

  /**
   * May we spotlight this person (or end their spotlight)? The server lets
   * co-hosts spotlight anyone; the panel, like for every other action, offers
   * a co-host nothing on a host's row except ending that host's spotlight.
   * @param {Participant} target
   */
  canSpotlight(target) {
    if (!this.isModerator) return false;
    return this.isHost || target.role !== "host" || this.spotlight === target.id;
  }

  /** @param {Participant} target */
  canChangeRole(target) {
    return this.isHost && target.id !== this.selfId && target.role !== "host";
  }

  // -- from the session -------------------------------------------------------

  /**
   * The meeting as the join acknowledgement (or `meeting_state`) describes it.
   * @param {Meeting | undefined} meeting
   * @param {string | null} selfId
   */
  applyMeeting(meeting, selfId) {
    const previousLobby = this.lobby;
    // Captions stay on through a resume or a role change in the same meeting.
    const captionsOn = this.captionsOn && Boolean(meeting?.meeting_id) && meeting?.meeting_id === this.meetingId;
    this.reset();
    this.selfId = selfId;
    if (meeting && typeof meeting === "object") {
      this.meetingId = meeting.meeting_id ?? null;
      this.title = meeting.title ?? null;
      this.role = meeting.role ?? "participant";
      this.locked = Boolean(meeting.locked);
      this.lobbyEnabled = Boolean(meeting.lobby_enabled);
      this.hasPasscode = Boolean(meeting.has_passcode);
      this.passcode = meeting.passcode ?? null;
      this.hostKey = meeting.host_key ?? null;
      this.micLocked = Boolean(meeting.mic_locked);
      this.hands = sortHands(meeting.hands);
      this.chat = Array.isArray(meeting.chat) ? meeting.chat.slice(-CHAT_KEEP) : [];
      for (const poll of Array.isArray(meeting.polls) ? meeting.polls : []) this._polls.set(poll.poll_id, poll);
      this.lobby = Array.isArray(meeting.lobby) ? meeting.lobby : [];
      this.spotlight = typeof meeting.spotlight === "string" ? meeting.spotlight : null;
      this.checkin = meeting.checkin?.code ? { zone: String(meeting.checkin.zone ?? ""), code: meeting.checkin.code } : null;
      this.recording = recordingStatus(meeting.recording);
      this.captionsEnabled = Boolean(meeting.captions);
      this.language = typeof meeting.language === "string" ? meeting.language : null;
      this.captionsOn = captionsOn && this.captionsEnabled;
      this.decisions = Array.isArray(meeting.decisions) ? meeting.decisions : [];
      this.participation = meeting.participation ?? null;
    }
    this.questionnaires.load(meeting?.questionnaires, meeting?.meeting_id ?? null);
    this._emit("meeting", {});
    this._emitLobby(previousLobby);
  }

  /**
   * A server event; returns false if it is not one of ours.
   * @param {string} event
   * @param {any} payload
   */
  handle(event, payload) {
    if (this.questionnaires.handle(event, payload)) return true;
    switch (event) {
      case "decisions":
        this.decisions = Array.isArray(payload.decisions) ? payload.decisions : [];
        this._emit("decisions", {});
        return true;
      case "hands_changed":
        this.hands = sortHands(payload.hands);
        this._emit("hands", { hands: this.hands });
        return true;
      case "hand_called":
        this._emit("handcalled", {
          participantId: payload.participant_id,
          name: String(payload.name ?? ""),
          by: String(payload.by ?? ""),
          self: payload.participant_id === this.selfId,
        });
        return true;
      case "chat_message":
        if (payload.message) this._addChat(payload.message);
        return true;
      case "reaction":
        this._emit("reaction", { participantId: payload.participant_id, emoji: String(payload.emoji ?? "") });
        return true;
      case "poll_changed":
        if (payload.poll?.poll_id) this._putPoll(payload.poll);
        return true;
      case "poll_deleted":
        if (this._polls.delete(payload.poll_id)) this._emit("polls", {});
        return true;
      case "meeting_updated":
        this._applySettings(payload);
        return true;
      case "meeting_state": {
        const view = this.view; // the server keeps it: only our role changed
        this.applyMeeting(payload.meeting, this.selfId);
        this.view = view;
        return true;
      }
      case "lobby_changed": {
        const previous = this.lobby;
        this.lobby = Array.isArray(payload.lobby) ? payload.lobby : [];
        this._emitLobby(previous, true);
        return true;
      }
      case "participant_updated":
        this._onParticipant(payload.participant);
        return false; // the session keeps the roster
      case "spotlight_changed":
        this.spotlight = typeof payload.participant_id === "string" ? payload.participant_id : null;
        this._emit("spotlight", { participantId: this.spotlight });
        return true;
      case "recording_changed":
        this._setRecording(recordingStatus(payload.recording), typeof payload.by === "string" ? payload.by : null);
        return true;
      case "caption":
        if (this.captionsOn && typeof payload.text === "string") {
          this._emit("caption", {
            id: String(payload.id ?? ""),
            participantId: String(payload.participant_id ?? ""),
            name: String(payload.name ?? ""),
            text: payload.text,
            final: Boolean(payload.final),
          });
        }
        return true;
      case "captions_stopped":
        // In the page's language: the code's message, else the server's own.
        this._setCaptions(this.captionsEnabled, false, errorText(String(payload.code ?? ""), String(payload.message ?? "")));
        return true;
      case "muted_by_host":
        if (payload.source === "microphone" && payload.locked) this.micLocked = true;
        this._emit("mutedbyhost", { source: payload.source, locked: Boolean(payload.locked), by: payload.by ?? "" });
        if (payload.locked) this._emitSelf();
        return true;
      case "removed":
      case "meeting_ended":
        this._emit("ended", {
          reason: event === "removed" ? "removed" : "ended",
          message: String(payload.message ?? ""),
          by: String(payload.by ?? ""),
        });
        return true;
      default:
        return false;
    }
  }

  // -- raised hands -----------------------------------------------------------

  async raiseHand() {
    return this._send("raise_hand", {});
  }

  /** @param {string} [participantId] absent: our own hand */
  async lowerHand(participantId) {
    return this._send("lower_hand", participantId ? { participant_id: participantId } : {});
  }

  async lowerAllHands() {
    return this._send("lower_all_hands", {});
  }

  // -- decisions (hosts and co-hosts mark them; everyone gets `decisions`) ----

  /** @param {string} text */
  async markDecision(text) {
    return this._send("mark_decision", { text });
  }

  /** @param {number} id */
  async removeDecision(id) {
    return this._send("remove_decision", { id });
  }

  async nextHand() {
    return this._send("next_hand", {});
  }

  // -- participation points ---------------------------------------------------

  /**
   * Hosts and co-hosts: turn points on or off, choose who sees the leaderboard.
   * @param {{enabled: boolean, visibility?: "host" | "everyone" | "off"}} changes
   */
  async setParticipation(changes) {
    const result = await this._send("set_participation", changes);
    this.participation = result.participation ?? this.participation;
    this._emit("participation", {});
    return result;
  }

  /** @returns {Promise<any>} the top 10, our own row and how many have points */
  async leaderboard() {
    return this._send("leaderboard", {});
  }

  // -- chat and reactions -----------------------------------------------------

  /** @param {string} text */
  async sendChat(text) {
    const result = await this._send("chat_send", { text });
    if (result.message) this._addChat(result.message);
    return result;
  }

  /** @param {string} emoji */
  async react(emoji) {
    return this._send("react", { emoji });
  }

  // -- host controls ----------------------------------------------------------

  /**
   * @param {string} participantId
   * @param {boolean} [lock]
   */
  async muteParticipant(participantId, lock = false) {
    return this._send("mute_participant", { participant_id: participantId, lock });
  }

  /** @param {boolean} [lock] */
  async muteAll(lock = false) {
    return this._send("mute_all", { lock });
  }

  /** @param {string} [participantId] absent: everyone */
  async unlockMicrophone(participantId) {
    return this._send("unlock_microphone", participantId ? { participant_id: participantId } : {});
  }

  /**
   * @param {string} participantId
   * @param {"camera" | "screen"} source
   */
  async stopMedia(participantId, source) {
    return this._send("stop_media", { participant_id: participantId, source });
  }

  /** @param {string} participantId */
  async removeParticipant(participantId) {
    return this._send("remove_participant", { participant_id: participantId });
  }

  /**
   * @param {string} participantId
   * @param {"co_host" | "participant"} role
   */
  async setRole(participantId, role) {
    return this._send("set_role", { participant_id: participantId, role });
  }

  /** @param {boolean} locked */
  async lockMeeting(locked) {
    const result = await this._send("lock_meeting", { locked });
    this._applySettings({ locked });
    return result;
  }

  /** @param {{passcode?: string | null, lobby_enabled?: boolean}} changes */
  async configureMeeting(changes) {
    const result = await this._send("configure_meeting", changes);
    this._applySettings({ ...result, passcode: "passcode" in result ? result.passcode : this.passcode });
    return result;
  }

  // -- live captions -----------------------------------------------------------

  /**
   * A host or co-host turns the meeting's live captions on or off.
   * @param {boolean} enabled
   */
  async setCaptionsEnabled(enabled) {
    const result = await this._send("set_captions", { enabled });
    this._setCaptions(Boolean(result.captions), Boolean(result.captions) && this.captionsOn);
    return result;
  }

  /**
   * Show (or hide) the captions on this device; the server starts sending them.
   * @param {boolean} on
   */
  async showCaptions(on) {
    try {
      const result = await this._send("captions", { on });
      this._setCaptions(this.captionsEnabled, this.captionsEnabled && Boolean(result.on));
      return result;
    } catch (error) {
      if (on) this._setCaptions(this.captionsEnabled, false); // not on, whatever we thought
      throw error;
    }
  }

  /**
   * @param {boolean} enabled
   * @param {boolean} on
   * @param {string} [stopped] why the server stopped them
   * @private
   */
  _setCaptions(enabled, on, stopped = "") {
    this.captionsEnabled = enabled;
    this.captionsOn = on;
    this._emit("captions", { enabled, on, stopped });
  }

  /** @param {string} [lobbyId] absent: everyone waiting */
  async admit(lobbyId) {
    return this._send("admit", lobbyId ? { lobby_id: lobbyId } : {});
  }

  /** @param {string} [lobbyId] absent: everyone waiting */
  async deny(lobbyId) {
    return this._send("deny", lobbyId ? { lobby_id: lobbyId } : {});
  }

  async endMeeting() {
    return this._send("end_meeting", {});
  }

  /** @param {string | null} participantId shown large for everyone; null ends the spotlight */
  async setSpotlight(participantId) {
    return this._send("spotlight", participantId ? { participant_id: participantId } : {});
  }

  // -- recording ----------------------------------------------------------------

  /**
   * Start, pause, resume or stop recording the meeting (hosts and co-hosts).
   * @param {"start" | "pause" | "resume" | "stop"} action
   */
  async recordingAction(action) {
    const result = await this._send("recording", { action });
    if ("recording" in result) this._setRecording(recordingStatus(result.recording), null);
    return result;
  }

  /**
   * This meeting's recordings with a signed download link per file
   * (`recording_links`; hosts only, where the deployment allows it).
   * @returns {Promise<HostRecording[]>}
   */
  async recordingLinks() {
    const result = await this._send("recording_links", {});
    return Array.isArray(result.recordings) ? result.recordings : [];
  }

  // -- what we receive --------------------------------------------------------

  /**
   * Receive video only from these participants (`set_view`); audio from everyone.
   * @param {string[]} participantIds
   * @param {import("./view_sync.js").ViewDetails} [details] camera tile heights and pins (absent: not sent)
   */
  async setView(participantIds, details) {
    const video = [...participantIds];
    const result = await this._send("set_view", { video, ...details });
    this.view = video;
    return result;
  }

  // -- polls --------------------------------------------------------------------

  /**
   * @param {{question: string, options: string[], kind: PollKind, anonymous: boolean, correct_option_ids?: string[]}} poll
   */
  async createPoll(poll) {
    const result = await this._send("poll_create", poll);
    if (result.poll) this._putPoll(result.poll);
    return result;
  }

  /** @param {string} pollId */
  async deletePoll(pollId) {
    const result = await this._send("poll_delete", { poll_id: pollId });
    if (this._polls.delete(pollId)) this._emit("polls", {});
    return result;
  }

  /** @param {string} pollId */
  async launchPoll(pollId) {
    return this._send("poll_launch", { poll_id: pollId });
  }

  /** @param {string} pollId */
  async closePoll(pollId) {
    return this._send("poll_close", { poll_id: pollId });
  }

  /** @param {string} pollId */
  async sharePoll(pollId) {
    return this._send("poll_share", { poll_id: pollId });
  }

  /**
   * @param {string} pollId
   * @param {string[]} optionIds
   */
  async vote(pollId, optionIds) {
    const result = await this._send("poll_vote", { poll_id: pollId, option_ids: optionIds });
    if (result.poll) this._putPoll(result.poll);
    return result;
  }

  /**
   * @param {"json" | "csv"} format
   * @returns {Promise<{filename: string, content_type: string, content: string}>}
   */
  async exportPolls(format) {
    const result = await this._send("poll_export", { format });
    return {
      filename: String(result.filename ?? `polls.${format}`),
      content_type: String(result.content_type ?? (format === "csv" ? "text/csv" : "application/json")),
      content: typeof result.content === "string" ? result.content : JSON.stringify(result.content ?? ""),
    };
  }

  // -- internals ----------------------------------------------------------------

  /**
   * @param {string} event
   * @param {object} payload
   * @private
   */
  async _send(event, payload) {
    try {
      return await this._request(event, payload);
    } catch (error) {
      if (error instanceof ProtocolError) throw error;
      throw new ProtocolError("internal_error", error instanceof Error ? error.message : String(error));
    }
  }

  /**
   * @param {ChatMessage} message
   * @private
   */
  _addChat(message) {
    if (this.chat.some((known) => known.id === message.id)) return;
    this.chat.push(message);
    this.chat.sort((a, b) => a.id - b.id);
    if (this.chat.length > CHAT_KEEP) this.chat.splice(0, this.chat.length - CHAT_KEEP);
    this._emit("chat", { message });
  }

  /**
   * @param {Poll} poll
   * @private
   */
  _putPoll(poll) {
    // A copy without our own `voted` / `my_choice` keeps what we knew.
    const known = this._polls.get(poll.poll_id);
    const merged = { ...poll };
    if (!("voted" in poll)) merged.voted = known?.voted ?? false;
    if (!("my_choice" in poll)) merged.my_choice = known?.my_choice ?? null;
    this._polls.set(poll.poll_id, merged);
    this._emit("polls", {});
  }

  /**
   * @param {Record<string, any>} settings
   * @private
   */
  _applySettings(settings) {
    if (settings.participation && typeof settings.participation === "object") {
      this.participation = settings.participation;
      this._emit("participation", {});
    }
    if (typeof settings.captions === "boolean" && settings.captions !== this.captionsEnabled) {
      this._setCaptions(settings.captions, settings.captions && this.captionsOn);
    }
    if (typeof settings.locked === "boolean") this.locked = settings.locked;
    if (typeof settings.lobby_enabled === "boolean") this.lobbyEnabled = settings.lobby_enabled;
    if (typeof settings.has_passcode === "boolean") this.hasPasscode = settings.has_passcode;
    if ("passcode" in settings) this.passcode = settings.passcode || null;
    if (!this.hasPasscode) this.passcode = null;
    this._emit("settings", {
      locked: this.locked,
      lobbyEnabled: this.lobbyEnabled,
      hasPasscode: this.hasPasscode,
      passcode: this.passcode,
    });
  }

  /**
   * @param {Participant | undefined} participant
   * @private
   */
  _onParticipant(participant) {
    if (!participant || participant.id !== this.selfId) return;
    const micLocked = Boolean(participant.mic_locked);
    const role = participant.role ?? this.role;
    if (micLocked === this.micLocked && role === this.role) return;
    this.micLocked = micLocked;
    // A role change also brings `meeting_state` with what the new role may see.
    this.role = role;
    this._emitSelf();
  }

  /**
   * @param {RecordingStatus | null} recording
   * @param {string | null} by
   * @private
   */
  _setRecording(recording, by) {
    const previous = this.recording;
    if (previous?.state === recording?.state && previous?.started_at === recording?.started_at) return;
    this.recording = recording;
    this._emit("recording", { recording, previous, by });
  }

  /** @private */
  _emitSelf() {
    this._emit("self", { micLocked: this.micLocked, role: this.role });
  }

  /**
   * @param {LobbyEntry[]} previous
   * @param {boolean} [always]
   * @private
   */
  _emitLobby(previous, always = false) {
    const before = new Set(previous.map((entry) => entry.id));
    const arrived = this.lobby.filter((entry) => !before.has(entry.id));
    if (always || arrived.length || previous.length !== this.lobby.length) {
      this._emit("lobby", { lobby: this.lobby, arrived });
    }
  }

  /**
   * @param {string} type
   * @param {object} detail
   * @private
   */
  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

/**
 * The server's list, in its order (by position).
 * @param {unknown} hands
 * @returns {Hand[]}
 */
function sortHands(hands) {
  if (!Array.isArray(hands)) return [];
  return hands.filter((hand) => hand && typeof hand.participant_id === "string").sort((a, b) => a.position - b.position);
}

/**
 * The `recording` field of the Meeting object or of `recording_changed`.
 * @param {unknown} value
 * @returns {RecordingStatus | null}
 */
function recordingStatus(value) {
  if (!value || typeof value !== "object") return null;
  const { state, started_at: startedAt } = /** @type {Record<string, unknown>} */ (value);
  return { state: state === "paused" ? "paused" : "recording", started_at: typeof startedAt === "number" ? startedAt : 0 };
}
