// Participation points (docs/protocol.md, "Participation points"): the
// leaderboard panel (the 10 best and your own rank) and the hosts' switch and
// visibility choice for the meeting menu. The scores are the server's: the
// panel asks for them (`leaderboard`) when it opens and every few seconds
// while it is open; its button shows only to those the hosts let see it.

import { formatNumber, t } from "../i18n.js";
import { h } from "./dom.js";
import { errorText, renderList } from "./kit.js";

/** @typedef {import("../meeting.js").MeetingInteraction} MeetingInteraction */
/**
 * @typedef {object} Score
 * @property {number} rank
 * @property {string} participant_id
 * @property {string} name
 * @property {number} points
 * @property {Record<string, {count: number, points: number}>} breakdown
 */

/** How often an open panel asks again (the server computes at most every 2 s). */
export const REFRESH_MS = 5000;
const CATEGORIES = ["attendance", "votes", "quiz", "called_on", "chat"];
const VISIBILITIES = /** @type {const} */ (["host", "everyone", "off"]);

/**
 * May we see the board now? With points on: everyone when the hosts show it
 * to everyone, hosts and co-hosts when they keep it to themselves, nobody
 * when it is off.
 * @param {MeetingInteraction} interaction
 */
export function leaderboardVisible(interaction) {
  const setting = interaction.participation;
  if (!setting?.enabled || setting.visibility === "off") return false;
  return interaction.isModerator || setting.visibility === "everyone";
}

export class LeaderboardView {
  /**
   * @param {{button: HTMLButtonElement, body: HTMLElement, interaction: MeetingInteraction,
   *   isOpen: () => boolean}} options
   */
  constructor({ button, body, interaction, isOpen }) {
    this.button = button;
    this.interaction = interaction;
    this.isOpen = isOpen;
    this.note = h("p.field-hint", { "data-testid": "leaderboard-note" });
    this.list = h("ol.leaderboard-list", { "data-testid": "leaderboard-list", "i18n-aria-label": "leaderboard.list_label" });
    this.mine = h("p.leaderboard-mine", { "data-testid": "leaderboard-mine", "aria-live": "polite" });
    this.empty = h("p.panel-empty", { i18n: "leaderboard.empty" });
    this.error = h("p.panel-error", { role: "alert", "data-testid": "leaderboard-error" });
    body.append(this.note, this.mine, this.empty, this.list, this.error);
    /** @type {ReturnType<typeof setInterval> | null} */
    this._timer = null;
    this.render();
  }

  /** Button and note follow the setting; an open panel asks for the scores. */
  render() {
    const visible = leaderboardVisible(this.interaction);
    this.button.hidden = !visible;
    const setting = this.interaction.participation;
    this.note.textContent = setting ? t(`leaderboard.visible_${setting.visibility}`) : "";
    if (visible && this.isOpen()) {
      this._start();
    } else {
      this._stop();
      if (!visible) this._show(null);
    }
  }

  /** Call when the panel opened or closed. */
  toggled() {
    this.render();
  }

  /** @private */
  _start() {
    if (this._timer === null) this._timer = setInterval(() => void this.refresh(), REFRESH_MS);
    void this.refresh();
  }

  /** @private */
  _stop() {
    if (this._timer !== null) clearInterval(this._timer);
    this._timer = null;
  }

  /** Ask the server for the board now. */
  async refresh() {
    try {
      const board = await this.interaction.leaderboard();
      this.error.textContent = "";
      this._show(board);
    } catch (error) {
      this.error.textContent = errorText(error);
    }
  }

  /**
   * @param {{top: Score[], me: Score | null, people: number} | null} board
   * @private
   */
  _show(board) {
    const top = board?.top ?? [];
    const selfId = this.interaction.selfId;
    renderList(this.list, top, {
      key: (row) => row.participant_id,
      signature: (row) => `${row.rank}|${row.name}|${row.points}|${row.participant_id === selfId}|${summary(row)}`,
      build: (row) => this._row(row, row.participant_id === selfId),
    });
    this.empty.hidden = top.length > 0 || board === null;
    const me = board?.me;
    this.mine.textContent = me
      ? t("leaderboard.your_rank", { count: me.points, rank: me.rank, people: board?.people ?? 0, points: formatNumber(me.points) })
      : "";
  }

  /**
   * @param {Score} row
   * @param {boolean} self
   * @private
   */
  _row(row, self) {
    return h(
      `li.leaderboard-row${self ? ".self" : ""}`,
      { "data-testid": "leaderboard-row", "data-participant-id": row.participant_id, "data-points": row.points },
      h("span.leaderboard-rank", { text: `${row.rank}.` }),
      h("span.leaderboard-name", { text: row.name }),
      h("span.leaderboard-points", { text: t("leaderboard.points", { count: row.points, points: formatNumber(row.points) }) }),
      h("span.leaderboard-breakdown", { text: summary(row) }),
    );
  }
}

/**
 * "3 min · 2 votes · …": the categories that gave points.
 * @param {Score} row
 */
function summary(row) {
  return CATEGORIES.filter((name) => row.breakdown?.[name]?.count > 0)
    .map((name) => t(`leaderboard.${name}`, { count: row.breakdown[name].count }))
    .join(" · ");
}

/** The hosts' switch and visibility choice, a section of the meeting menu. */
export class ParticipationSettings {
  /** @param {{interaction: MeetingInteraction, onError: (message: string) => void}} options */
  constructor({ interaction, onError }) {
    this.interaction = interaction;
    this.toggle = /** @type {HTMLInputElement} */ (h("input.switch", { type: "checkbox", role: "switch", "data-testid": "participation-toggle" }));
    this.visibility = /** @type {HTMLSelectElement} */ (
      h("select", { "data-testid": "participation-visibility", "i18n-aria-label": "leaderboard.visibility" })
    );
    this.hint = h("p.field-hint", { i18n: "leaderboard.hint" });
    this.el = h(
      "div.menu-section",
      { "data-testid": "participation-settings" },
      h("h3", { i18n: "leaderboard.points_title" }),
      h("label.check", {}, this.toggle, h("span", { i18n: "leaderboard.enable" })),
      h("label.field", {}, h("span", { i18n: "leaderboard.visibility" }), this.visibility),
      this.hint,
    );
    const send = () => {
      const changes = { enabled: this.toggle.checked, visibility: /** @type {"host" | "everyone" | "off"} */ (this.visibility.value) };
      this.interaction.setParticipation(changes).then(
        () => this.render(),
        (error) => {
          onError(errorText(error));
          this.render(); // back to what the server has
        },
      );
    };
    this.toggle.addEventListener("change", send);
    this.visibility.addEventListener("change", send);
    this.render();
  }

  /** Show the setting as the server last said (and the options in the page's language). */
  render() {
    const setting = this.interaction.participation;
    this.el.hidden = !this.interaction.isModerator;
    this.toggle.checked = Boolean(setting?.enabled);
    const chosen = setting?.visibility ?? "host";
    this.visibility.replaceChildren(
      ...VISIBILITIES.map((value) => h("option", { value, text: t(`leaderboard.visibility_${value}`), selected: value === chosen })),
    );
    this.visibility.value = chosen;
  }
}
