// Being in the meeting: the `join` (following `wrong_node` redirects, retrying
// while the server has passing trouble), waiting in the lobby, applying the
// join acknowledgement, then starting media; leaving, being removed, failing.
// Server events that arrive before the acknowledgement are held back and
// handed on after it. DOM-free; used by session.js.

import { t } from "./i18n.js";
import { joinFailureMessage, requestJoin } from "./join.js";
import { markStep } from "./join_marks.js";
import { followRedirects, passingTrouble, retryPauseMs } from "./node_redirect.js";
import { ProtocolError } from "./protocol.js";
import { simulcastLayers } from "./publisher.js";
import { CONNECT_WAIT_MS, RECONNECT_GIVE_UP_MS, RETRY_PAUSE_MS, sleep } from "./session_core.js";

/** How long the views wait, at most, for the answer to the join's subscriber offer. */
const ANSWER_FIRST_WAIT_MS = 1500;
/** How long the views wait, at most, for the server's answer to the publish offer (when nothing else holds it). */
const PUBLISH_FIRST_WAIT_MS = 500;

/** @typedef {import("./join.js").JoinFields} JoinFields */
/** @typedef {import("./join.js").LobbyWait} LobbyWait */
/** @typedef {import("./meeting.js").MeetingInteraction} MeetingInteraction */
/** @typedef {import("./protocol.js").JoinResult} JoinResult */
/** @typedef {import("./reconnect.js").Reconnector} Reconnector */
/** @typedef {import("./roster.js").Roster} Roster */
/** @typedef {import("./session_core.js").SessionCore} SessionCore */
/** @typedef {import("./session_media.js").SessionMedia} SessionMedia */
/** @typedef {import("./signaling.js").SignalingChannel} SignalingChannel */
/** @typedef {{event: string, payload: any}} ServerMessage */

/**
 * @typedef {object} MembershipOptions
 * @property {SessionCore} core
 * @property {SignalingChannel} signaling
 * @property {LobbyWait} lobby
 * @property {Roster} roster
 * @property {MeetingInteraction} interaction
 * @property {SessionMedia} media
 * @property {Reconnector} reconnect
 * @property {() => Omit<JoinFields, "token">} joinFields what to send with `join` (read at each join)
 * @property {(message: ServerMessage) => void} dispatch handles a server event held back until the join
 */

export class Membership {
  /** @param {MembershipOptions} options */
  constructor({ core, signaling, lobby, roster, interaction, media, reconnect, joinFields, dispatch }) {
    this._core = core;
    this._signaling = signaling;
    this._lobby = lobby;
    this._roster = roster;
    this._interaction = interaction;
    this._media = media;
    this._reconnect = reconnect;
    this._joinFields = joinFields;
    this._dispatch = dispatch;
    /** @type {ServerMessage[] | null} server events held back until a join is acknowledged */
    this._held = null;
    /** subscriber offers are not held (the acknowledgement came; views are not built yet) */
    this._offersPass = false;
    /** counts enter() calls past their acknowledgement */
    this._entries = 0;
  }

  /**
   * Hold a server event back while a `join` is on its way.
   * @param {ServerMessage} message
   * @returns {boolean} true if held
   */
  hold(message) {
    if (!this._held) return false;
    if (this._offersPass && message.event === "subscriber_offer") return false; // answered at once
    this._held.push(message);
    return true;
  }

  /** Join (state `prejoin`, `left` or `failed`), retrying passing trouble for a while. */
  async join() {
    const core = this._core;
    this._reconnect.forgetOutage();
    core.setState("joining");
    const since = Date.now();
    while (core.state === "joining") {
      // A fresh join starts at the entry unless a node's socket is still up: that node may be gone.
      this._signaling.backToEntryIfNodeDown();
      try {
        await this._signaling.waitConnected(CONNECT_WAIT_MS);
        await this.enter(core.resumeToken);
        return;
      } catch (error) {
        if (["left", "removed", "ended"].includes(core.state)) return;
        if (core.state !== "joining" || !passingTrouble(error) || Date.now() - since >= RECONNECT_GIVE_UP_MS) {
          this.fail(joinFailureMessage(error), error instanceof ProtocolError ? error.code : undefined);
          return;
        }
        core.notice("info", "server_busy", t("join.retrying"));
        await sleep(retryPauseMs(error, RETRY_PAUSE_MS));
      }
    }
  }

  /** Leave the meeting; the camera and microphone are released. */
  async leave() {
    if (["left", "removed", "ended"].includes(this._core.state)) return;
    const inRoom = this._core.inRoom || this._core.state === "waiting"; // leaving the lobby is a `leave` too
    this._core.setState("left");
    this._tearDown();
    if (inRoom) await this._signaling.request("leave", {}).catch(() => {});
  }

  /** The page is going away: drop the connection at once (the server removes us). */
  leaveNow() {
    // "left" first: the socket's own disconnect event must not start a resume
    // (a page going away would otherwise join again while it unloads).
    this._core.setState("left");
    this._core.inRoom = false;
    this._reconnect.stop();
    this._reconnect.closeStaleSockets();
    this._media.closePeers();
    this._signaling.close();
  }

  /**
   * Send `join` (resuming if a token is given), then start media.
   * @param {string | null} token
   */
  async enter(token) {
    const core = this._core;
    let result;
    try {
      const fields = { ...this._joinFields(), token };
      const dropToken = () => void (fields.token = core.resumeToken = null);
      // The same join, again on each node a `wrong_node` sends us to.
      result = await followRedirects(this._signaling, async () => {
        this._held = []; // nothing of another node's socket is kept
        const ack = await requestJoin((e, p) => this._signaling.request(e, p), fields, dropToken);
        return "waiting" in ack ? await this._waitInLobby() : ack;
      }, CONNECT_WAIT_MS);
    } catch (error) {
      this._held = null;
      throw error;
    }
    markStep("join acknowledged");
    if (!["joining", "reconnecting", "waiting"].includes(core.state)) {
      // Left or gave up while the join was on its way.
      this._held = null;
      await this._signaling.request("leave", {}).catch(() => {});
      return;
    }
    // Media before any view work (issue 21): the receiving connection is set
    // up and answers the subscriber offer that came with the acknowledgement;
    // the roster, chat and polls are shown once the answer is on its way
    // (their work on the page's thread would hold it up).
    this._applyConnection(result);
    this._reconnect.closeStaleSockets(); // resumed: the replaced connection may go now
    this._media.start();
    const entry = (this._entries += 1); // a newer enter() (a resume) takes over from this one
    const early = this._held ?? [];
    this._held = early.filter((m) => m.event !== "subscriber_offer");
    this._offersPass = true;
    try {
      for (const message of early) if (message.event === "subscriber_offer") this._dispatch(message);
      await this._media.answerSent(ANSWER_FIRST_WAIT_MS);
    } finally {
      if (entry === this._entries) this._offersPass = false;
    }
    if (!this._goesOn(entry)) return;
    this._applyMeeting(result);
    markStep("meeting applied");
    // Publishing before the views (issue 21): building them takes the page's
    // thread for 100-300 ms (seconds on a busy machine), and the browser's
    // offer needs that thread between its steps, as does the server's answer
    // (its acknowledgement is handled on that thread: behind the views it
    // waited 100-150 ms, and the others saw us that much later). The views
    // wait until the answer is here, at most PUBLISH_FIRST_WAIT_MS (not
    // until it is applied: the browser does that on its own thread while
    // they are built), and not at all while publishing waits for something
    // else (the camera still opening, the recording notice). The interaction
    // views are not loaded yet, so the meeting state above cost little.
    await this._media.publish(PUBLISH_FIRST_WAIT_MS);
    if (!this._goesOn(entry)) return;
    const held = this._held ?? [];
    this._held = null;
    this._showMeeting();
    markStep("meeting shown");
    for (const message of held) this._dispatch(message);
    await this._media.syncMuteState(this._roster.get(result.participant_id));
  }

  /**
   * After a wait in `enter()`: may this join go on? Not when a newer one
   * took over, nor when it was left, failed or removed meanwhile; a socket
   * lost meanwhile throws, so that `join()` tries again (nothing resumes a
   * join that was not shown yet).
   * @param {number} entry the `enter()` call's number
   * @returns {boolean}
   * @private
   */
  _goesOn(entry) {
    if (entry !== this._entries) return false; // superseded: the newer one applies its own acknowledgement
    if (this._core.inRoom) return true;
    this._held = null;
    if (["joining", "waiting"].includes(this._core.state)) {
      this._media.closePeers();
      throw new ProtocolError("node_unreachable", "The connection to the server was lost while joining.");
    }
    return false; // left, failed or was removed meanwhile: torn down already
  }

  /**
   * A host removed us or ended the meeting: stop everything, never reconnect.
   * @param {{reason: "removed" | "ended", message: string}} detail
   */
  endedByHost({ reason, message }) {
    this._core.setState(reason, message);
    this._tearDown();
    this._signaling.close();
  }

  /**
   * @param {string} message
   * @param {string} [code] the error code, if a `join` was refused
   */
  fail(message, code) {
    const core = this._core;
    const wasIn = core.inRoom || core.state === "reconnecting";
    core.inRoom = false;
    this._reconnect.stop();
    this._reconnect.closeStaleSockets();
    this._media.closePeers();
    this._held = null;
    core.setState("failed", message, code);
    // Stop socket.io's own retries (and leave, if the server still has us);
    // `rejoin()` opens the connection again.
    if (wasIn) this._signaling.close();
  }

  /**
   * What the peer connections need of the acknowledgement.
   * @param {JoinResult} result
   * @private
   */
  _applyConnection(result) {
    const core = this._core;
    if (result.participant_id !== core.participantId) this._roster.activeSpeakerId = null;
    core.participantId = result.participant_id;
    core.resumeToken = result.resume_token;
    core.iceServers = Array.isArray(result.ice_servers) ? result.ice_servers : [];
    core.simulcast = simulcastLayers(result.media);
    core.inRoom = true;
  }

  /**
   * The rest of the acknowledgement: who is here, the meeting's state (data;
   * `_showMeeting` tells the views).
   * @param {JoinResult} result
   * @private
   */
  _applyMeeting(result) {
    this._roster.replace(result.participants ?? []);
    this._interaction.applyMeeting(result.meeting, result.participant_id);
  }

  /** Tell the views: joined, and who is here. @private */
  _showMeeting() {
    // After an outage we stay "reconnecting" until media flows again.
    if (!this._reconnect.inOutage) {
      this._reconnect.stop();
      this._core.setState("joined");
    }
    this._roster.announce();
  }

  /**
   * Wait in the lobby until a host lets us in or turns us away.
   * @returns {Promise<JoinResult>} the full join acknowledgement
   * @private
   */
  _waitInLobby() {
    this._reconnect.stop();
    this._reconnect.forgetOutage();
    this._core.setState("waiting");
    return this._lobby.wait();
  }

  /** Close the connections, release the devices, forget the roster. @private */
  _tearDown() {
    this._core.inRoom = false;
    this._lobby.cancel(new ProtocolError("left", "You left the meeting."));
    this._reconnect.stop();
    this._reconnect.closeStaleSockets();
    this._media.closePeers();
    this._media.releaseAll();
    this._roster.clear();
    this._interaction.reset();
    this._roster.announce();
  }
}
