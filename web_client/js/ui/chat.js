// In-meeting chat: the history from the join acknowledgement, new messages, the
// input (Enter sends, Shift+Enter starts a new line) and the unread count on
// the chat button while the panel is closed.

import { formatTime, t } from "../i18n.js";
import { CHAT_MAX_LENGTH } from "../protocol.js";
import { h } from "./dom.js";
import { errorText, renderList } from "./kit.js";
import { setBadge } from "./side_panel.js";

/** @typedef {import("../meeting.js").MeetingInteraction} MeetingInteraction */
/** @typedef {import("../protocol.js").ChatMessage} ChatMessage */

export class ChatView {
  /**
   * @param {{button: HTMLButtonElement, body: HTMLElement, interaction: MeetingInteraction,
   *   isOpen: () => boolean}} options
   */
  constructor({ button, body, interaction, isOpen }) {
    this.button = button;
    this.interaction = interaction;
    this.isOpen = isOpen;
    this.unread = 0;
    // A list that announces what is added (a "log" role on the <ol> would
    // take away its list role, and its items would be orphans to a screen reader).
    this.log = h("ol.chat-log", { "aria-live": "polite", "aria-relevant": "additions", "i18n-aria-label": "chat.messages_label" });
    this.empty = h("p.panel-empty", { i18n: "chat.empty" });
    this.input = /** @type {HTMLTextAreaElement} */ (
      h("textarea.chat-input", {
        "data-testid": "chat-input",
        rows: 2,
        maxlength: CHAT_MAX_LENGTH,
        "i18n-placeholder": "chat.placeholder",
        "i18n-aria-label": "chat.input_label",
        "aria-describedby": "chat-hint",
      })
    );
    this.send = /** @type {HTMLButtonElement} */ (
      h("button.small.primary", { type: "submit", "data-testid": "chat-send-button", i18n: "chat.send" })
    );
    this.counter = h("span.chat-counter", { "aria-live": "polite" });
    this.error = h("p.panel-error", { role: "alert", "data-testid": "chat-error" });
    const form = h(
      "form.chat-form",
      {},
      this.input,
      h("div.chat-form-row", {}, h("span.chat-hint", { id: "chat-hint", i18n: "chat.hint" }), this.counter, this.send),
      this.error,
    );
    body.append(this.empty, this.log, form);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this._send();
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        void this._send();
      }
    });
    this.input.addEventListener("input", () => this._updateCounter());
    this.render();
  }

  /** Show the whole history again (after a join). */
  render() {
    const nearBottom = this._nearBottom();
    renderList(this.log, this.interaction.chat, {
      key: (message) => String(message.id),
      signature: (message) => `${message.sender_name}|${message.sender_id === this.interaction.selfId}`,
      build: (message) => this._message(message),
    });
    this.empty.hidden = this.interaction.chat.length > 0;
    if (nearBottom) this._scrollDown();
  }

  /**
   * A new message arrived.
   * @param {ChatMessage} message
   */
  added(message) {
    this.render();
    if (message.sender_id !== this.interaction.selfId && !this.isOpen()) {
      this.unread += 1;
      setBadge(this.button, this.unread, t("chat.unread"));
    }
  }

  /** The panel opened: everything is read now. */
  opened() {
    this.unread = 0;
    setBadge(this.button, 0);
    this._scrollDown();
    this.input.focus();
  }

  /** After leaving: nothing is unread. */
  clearUnread() {
    this.unread = 0;
    setBadge(this.button, 0);
  }

  /**
   * @param {ChatMessage} message
   * @private
   */
  _message(message) {
    const self = message.sender_id === this.interaction.selfId;
    const time = new Date(message.sent_at * 1000);
    return h(
      "li.chat-message",
      { "data-testid": "chat-message", "data-sender-id": message.sender_id, "data-self": String(self) },
      h(
        "div.chat-meta",
        {},
        h("span.chat-sender", { text: self ? t("common.you_suffix", { name: message.sender_name }) : message.sender_name }),
        h("time.chat-time", {
          datetime: time.toISOString(),
          text: formatTime(time, { hour: "2-digit", minute: "2-digit" }),
        }),
      ),
      h("div.chat-text", { text: message.text }),
    );
  }

  /** @private */
  async _send() {
    const typed = this.input.value;
    const text = typed.trim();
    if (!text) return;
    if ([...text].length > CHAT_MAX_LENGTH) {
      this.error.textContent = t("chat.too_long", { max: CHAT_MAX_LENGTH });
      return;
    }
    this.error.textContent = "";
    this.send.disabled = true;
    try {
      await this.interaction.sendChat(text);
      // Clear what was sent, not what was typed while it was on its way.
      if (this.input.value.startsWith(typed)) {
        this.input.value = this.input.value.slice(typed.length);
      }
      this._updateCounter();
    } catch (error) {
      this.error.textContent = errorText(error);
    } finally {
      this.send.disabled = false;
      this.input.focus();
    }
  }

  /** @private */
  _updateCounter() {
    const length = [...this.input.value].length;
    const close = length > CHAT_MAX_LENGTH - 200;
    this.counter.textContent = close ? `${length} / ${CHAT_MAX_LENGTH}` : "";
    this.error.textContent = "";
  }

  /** @private */
  _nearBottom() {
    return this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 60;
  }

  /** @private */
  _scrollDown() {
    this.log.scrollTop = this.log.scrollHeight;
  }
}
