// The participants panel: everyone with their role, microphone and hand; hosts
// and co-hosts get per-person actions (mute, lock, camera, screen, remove,
// co-host). Only what our role allows is shown; the server decides anyway.

import { h, hueOf, icon, initials } from "./dom.js";
import { CAMERA_OFF, HAND, LOCK, MIC_OFF, ROOM, SCREEN, SPOTLIGHT } from "./icons.js";
import { confirmDialog, errorText, renderList, smallButton } from "./kit.js";

/** @typedef {import("../meeting.js").MeetingInteraction} MeetingInteraction */
/** @typedef {import("../protocol.js").Participant} Participant */

export const ROLE_LABEL = /** @type {Record<string, string>} */ ({ host: "Host", co_host: "Co-host", participant: "" });

export class ParticipantsView {
  /**
   * @param {{body: HTMLElement, interaction: MeetingInteraction,
   *   participants: () => Participant[], onShowLobby: () => void}} options
   */
  constructor({ body, interaction, participants, onShowLobby }) {
    this.interaction = interaction;
    this.participants = participants;
    this.lobbyCount = h("span");
    this.lobbyLine = h(
      "div.panel-note.lobby-line",
      {},
      this.lobbyCount,
      smallButton("Show", { "aria-label": "Show who is waiting in the lobby" }, onShowLobby),
    );
    this.list = h("ul.participant-list", { "aria-label": "Participants" });
    this.error = h("p.panel-error", { role: "alert", "data-testid": "participants-error" });
    body.append(this.lobbyLine, this.error, this.list);
    this.render();
  }

  render() {
    const i = this.interaction;
    const people = this.participants();
    renderList(this.list, people, {
      key: (p) => p.id,
      signature: (p) => JSON.stringify([p, i.role, i.selfId, i.handPosition(p.id), i.spotlight === p.id]),
      build: (p) => this._row(p),
    });
    const waiting = i.isModerator ? i.lobby.length : 0;
    this.lobbyLine.hidden = waiting === 0;
    this.lobbyCount.textContent = waiting === 1 ? "1 person is waiting in the lobby." : `${waiting} people are waiting in the lobby.`;
  }

  /**
   * @param {Participant} p
   * @private
   */
  _row(p) {
    const i = this.interaction;
    const self = p.id === i.selfId;
    const role = p.role ?? "participant";
    const hand = i.handPosition(p.id);
    /** @type {(Node | null)[]} */
    const inRoom = p.mode === "companion" || p.mode === "room";
    const marks = [
      i.spotlight === p.id ? mark(SPOTLIGHT, "In the spotlight: shown large for everyone") : null,
      inRoom ? mark(ROOM, p.mode === "room" ? `Room device of ${p.zone ?? "a meeting room"}` : `In ${p.zone ?? "a meeting room"}`) : null,
      hand !== null ? mark(HAND, `Hand raised, number ${hand}`, String(hand)) : null,
      p.mic_locked ? mark(LOCK, "Microphone locked by a host") : null,
      p.audio_muted ? mark(MIC_OFF, "Microphone muted") : null,
      p.video_muted ? mark(CAMERA_OFF, "Camera off") : null,
      p.screen_sharing ? mark(SCREEN, "Sharing their screen") : null,
    ];
    const avatar = h("span.participant-avatar", { "aria-hidden": "true", text: initials(p.name) });
    avatar.style.setProperty("--hue", String(hueOf(p.id)));
    const row = h(
      "li.participant-row",
      { "data-testid": "participant-row", "data-participant-id": p.id, "data-role": role, "data-mic-locked": String(Boolean(p.mic_locked)) },
      h(
        "div.participant-line",
        {},
        avatar,
        h("span.participant-name", { text: self ? `${p.name} (you)` : p.name }),
        ROLE_LABEL[role] ? h("span.role-label", { "data-role": role, text: ROLE_LABEL[role] }) : null,
        p.connected === false ? h("span.role-label", { text: "Reconnecting…" }) : null,
        h("span.participant-marks", {}, ...marks),
      ),
    );
    const actions = this._actions(p);
    if (actions.length) row.append(h("div.participant-actions", { role: "group", "aria-label": `Actions for ${p.name}` }, ...actions));
    return row;
  }

  /**
   * The buttons our role may use on this person.
   * @param {Participant} p
   * @private
   */
  _actions(p) {
    const i = this.interaction;
    const name = p.name;
    /** @type {HTMLButtonElement[]} */
    const buttons = [];
    const add = (/** @type {string} */ label, /** @type {string} */ testid, /** @type {string} */ aria, /** @type {() => Promise<unknown>} */ action, extra = "") =>
      buttons.push(smallButton(label, { "data-testid": testid, "aria-label": aria, class: `small ${extra}` }, () => this._run(action)));
    if (i.canModerate(p)) {
      if (!p.audio_muted) add("Mute", "mute-participant-button", `Mute ${name}`, () => i.muteParticipant(p.id, false));
      if (!p.mic_locked) {
        add("Mute & lock", "mute-lock-participant-button", `Mute ${name} and lock their microphone`, () => i.muteParticipant(p.id, true));
      } else {
        add("Unlock mic", "unlock-mic-button", `Let ${name} unmute again`, () => i.unlockMicrophone(p.id));
      }
      if (!p.video_muted) add("Stop camera", "stop-camera-button", `Stop ${name}'s camera`, () => i.stopMedia(p.id, "camera"));
      if (p.screen_sharing) add("Stop sharing", "stop-screen-button", `Stop ${name}'s screen share`, () => i.stopMedia(p.id, "screen"));
    }
    if (i.canSpotlight(p)) {
      if (i.spotlight === p.id) add("End spotlight", "spotlight-button", `End the spotlight on ${name}`, () => i.setSpotlight(null));
      else add("Spotlight", "spotlight-button", `Spotlight ${name}: show them large for everyone`, () => i.setSpotlight(p.id));
    }
    if (i.canChangeRole(p)) {
      if (p.role === "co_host") add("Remove co-host", "remove-cohost-button", `Make ${name} a participant again`, () => i.setRole(p.id, "participant"));
      else add("Make co-host", "make-cohost-button", `Make ${name} a co-host`, () => i.setRole(p.id, "co_host"));
    }
    if (i.canRemove(p)) {
      add("Remove", "remove-participant-button", `Remove ${name} from the meeting`, async () => {
        const sure = await confirmDialog({
          title: `Remove ${name}?`,
          message: `${name} will leave the meeting at once and cannot join it again.`,
          confirmLabel: "Remove",
          danger: true,
        });
        if (sure) await i.removeParticipant(p.id);
      }, "danger");
    }
    return buttons;
  }

  /**
   * @param {() => Promise<unknown>} action
   * @private
   */
  _run(action) {
    this.error.textContent = "";
    action().catch((error) => (this.error.textContent = errorText(error)));
  }
}

/**
 * A small status icon with its meaning for screen readers.
 * @param {string} svg
 * @param {string} label
 * @param {string} [text]
 */
function mark(svg, label, text) {
  return h("span.participant-mark", { title: label, role: "img", "aria-label": label }, icon(svg), text ? h("span", { text }) : null);
}
