// Reactions: the picker of the allowed emoji, and a short burst on the tile of
// whoever reacted.

import { REACTIONS } from "../protocol.js";
import { t } from "../i18n.js";
import { h } from "./dom.js";
import { Popover, errorText } from "./kit.js";

/** @typedef {import("../meeting.js").MeetingInteraction} MeetingInteraction */

/** How long a burst stays on a tile (the CSS animation lasts as long). */
export const BURST_MS = 2500;

/** Each reaction's catalog key (`reactions.<name>`). */
const NAMES = /** @type {Record<string, string>} */ ({
  "👍": "thumbs_up",
  "👎": "thumbs_down",
  "👏": "clap",
  "❤️": "heart",
  "😂": "laughing",
  "😮": "surprised",
  "🎉": "party",
  "🙏": "thank_you",
  "👋": "wave",
});

/** @param {string} emoji @returns {string} its name in the current language */
const nameOf = (emoji) => (NAMES[emoji] ? t(`reactions.${NAMES[emoji]}`) : emoji);

export class ReactionsView {
  /**
   * @param {{button: HTMLButtonElement, interaction: MeetingInteraction,
   *   tileOf: (participantId: string) => HTMLElement | null, onError: (message: string) => void}} options
   */
  constructor({ button, interaction, tileOf, onError }) {
    this.tileOf = tileOf;
    const options = REACTIONS.map((emoji) => {
      const option = h("button.reaction-option", {
        type: "button",
        "data-testid": "reaction-option",
        "data-emoji": emoji,
        "aria-label": nameOf(emoji),
        title: NAMES[emoji] ?? emoji,
        text: emoji,
      });
      option.addEventListener("click", () => {
        this.picker.close();
        interaction.react(emoji).catch((error) => onError(errorText(error)));
      });
      return option;
    });
    const el = h("div.reaction-picker", { role: "group", "i18n-aria-label": "reactions.picker_label", "data-testid": "reaction-picker" }, ...options);
    el.addEventListener("keydown", (event) => moveFocus(event, options));
    this.picker = new Popover(button, el);
  }

  /**
   * Show a burst on the sender's tile.
   * @param {string} participantId
   * @param {string} emoji
   * @param {string} name who reacted
   */
  burst(participantId, emoji, name) {
    const tile = this.tileOf(participantId);
    if (!tile) return;
    const offset = Math.round(Math.random() * 40) - 20;
    const burst = h(
      "div.reaction-burst",
      { "data-testid": "reaction-burst", "data-emoji": emoji, role: "img", "aria-label": t("reactions.burst_label", { name, reaction: nameOf(emoji) }) },
      h("span", { text: emoji }),
    );
    burst.style.setProperty("--offset", `${offset}%`);
    tile.append(burst);
    setTimeout(() => burst.remove(), BURST_MS);
  }
}

/**
 * Arrow keys move between the emoji.
 * @param {KeyboardEvent} event
 * @param {HTMLElement[]} options
 */
function moveFocus(event, options) {
  const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
  if (!step) return;
  event.preventDefault();
  const at = options.indexOf(/** @type {HTMLElement} */ (document.activeElement));
  options[(at + step + options.length) % options.length].focus();
}
