// The participants panel: everyone with their role, microphone and hand; hosts
// and co-hosts get per-person actions (mute, lock, camera, screen, remove,
// co-host). Only what our role allows is shown; the server decides anyway.

import { t } from "../i18n.js";
import { h, hueOf, icon, initials } from "./dom.js";
import { CAMERA_OFF, HAND, LOCK, MIC_OFF, ROOM, SCREEN, SPOTLIGHT } from "./icons.js";
import { confirmDialog, errorText, renderList, smallButton } from "./kit.js";
import { roleLabel } from "./tiles.js";

/** @typedef {import("../meeting.js").MeetingInteraction} MeetingInteraction */
/** @typedef {import("../protocol.js").Participant} Participant */


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
      smallButton(t("lobby.show"), { "i18n-aria-label": "lobby.show_label" }, onShowLobby),
    );
    this.list = h("ul.participant-list", { "i18n-aria-label": "participants.label" });
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
    this.lobbyCount.textContent = t("participants.lobby_waiting", { count: waiting });
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
      i.spotlight === p.id ? mark(SPOTLIGHT, t("participants.spotlight_mark")) : null,
      inRoom ? mark(ROOM, t(p.mode === "room" ? "participants.room_device_of" : "participants.in_room", { room: p.zone ?? t("participants.a_meeting_room") })) : null,
      hand !== null ? mark(HAND, t("participants.hand_mark", { position: hand }), String(hand)) : null,
      p.mic_locked ? mark(LOCK, t("controls.mic_locked_label")) : null,
      p.audio_muted ? mark(MIC_OFF, t("participants.mic_muted")) : null,
      p.video_muted ? mark(CAMERA_OFF, t("prejoin.camera_off")) : null,
      p.screen_sharing ? mark(SCREEN, t("participants.sharing")) : null,
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
        h("span.participant-name", { text: self ? t("common.you_suffix", { name: p.name }) : p.name }),
        roleLabel(role) ? h("span.role-label", { "data-role": role, text: roleLabel(role) }) : null,
        p.connected === false ? h("span.role-label", { text: t("participants.reconnecting") }) : null,
        h("span.participant-marks", {}, ...marks),
      ),
    );
    const actions = this._actions(p);
    if (actions.length) row.append(h("div.participant-actions", { role: "group", "aria-label": t("participants.actions_for", { name: p.name }) }, ...actions));
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
      // a11y: the name starts with the visible caption (WCAG 2.5.3, label in name); the long form is the tooltip.
      buttons.push(smallButton(label, { "data-testid": testid, "aria-label": t("a11y.action_for", { action: label, name }), title: aria, class: `small ${extra}` }, () => this._run(action)));
    if (i.canModerate(p)) {
      if (!p.audio_muted) add(t("participants.mute"), "mute-participant-button", t("participants.mute_label", { name }), () => i.muteParticipant(p.id, false));
      if (!p.mic_locked) {
        add(t("participants.mute_lock"), "mute-lock-participant-button", t("participants.mute_lock_label", { name }), () => i.muteParticipant(p.id, true));
      } else {
        add(t("participants.unlock"), "unlock-mic-button", t("participants.unlock_label", { name }), () => i.unlockMicrophone(p.id));
      }
      if (!p.video_muted) add(t("participants.stop_camera"), "stop-camera-button", t("participants.stop_camera_label", { name }), () => i.stopMedia(p.id, "camera"));
      if (p.screen_sharing) add(t("controls.stop_sharing"), "stop-screen-button", t("participants.stop_screen_label", { name }), () => i.stopMedia(p.id, "screen"));
    }
    if (i.canSpotlight(p)) {
      if (i.spotlight === p.id) add(t("participants.end_spotlight"), "spotlight-button", t("participants.end_spotlight_label", { name }), () => i.setSpotlight(null));
      else add(t("participants.spotlight"), "spotlight-button", t("participants.spotlight_label", { name }), () => i.setSpotlight(p.id));
    }
    if (i.canChangeRole(p)) {
      if (p.role === "co_host") add(t("participants.remove_cohost"), "remove-cohost-button", t("participants.remove_cohost_label", { name }), () => i.setRole(p.id, "participant"));
      else add(t("participants.make_cohost"), "make-cohost-button", t("participants.make_cohost_label", { name }), () => i.setRole(p.id, "co_host"));
    }
    if (i.canRemove(p)) {
      add(t("participants.remove"), "remove-participant-button", t("participants.remove_label", { name }), async () => {
        const sure = await confirmDialog({
          title: t("participants.remove_confirm_title", { name }),
          message: t("participants.remove_confirm_text", { name }),
          confirmLabel: t("participants.remove"),
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
