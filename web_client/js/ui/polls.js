// The polls panel: hosts and co-hosts prepare, launch, close, share and export
// polls and watch live results; everyone votes in open polls and sees results
// once they are shared.

import { formatNumber, t } from "../i18n.js";
import { h } from "./dom.js";
import { download, errorText, renderList, smallButton } from "./kit.js";
import { PollForm } from "./poll_form.js";
import { setBadge } from "./side_panel.js";

/** @typedef {import("../meeting.js").MeetingInteraction} MeetingInteraction */
/** @typedef {import("../protocol.js").Poll} Poll */

/**
 * @typedef {object} Card
 * @property {HTMLElement} el
 * @property {HTMLElement} head
 * @property {HTMLElement} choices
 * @property {HTMLElement} results
 * @property {HTMLElement} actions
 * @property {HTMLElement} error
 * @property {Record<string, string>} sigs what each part shows now
 */

/** @param {string} kind */
const kindLabel = (kind) => (["single", "multiple", "quiz"].includes(kind) ? t(`polls.kind_${kind}`) : kind);
/** @param {string} state */
const stateLabel = (state) => (["draft", "open", "closed"].includes(state) ? t(`polls.state_${state}`) : state);
const STATE_ORDER = { open: 0, draft: 1, closed: 2 };

export class PollsView {
  /**
   * @param {{button: HTMLButtonElement, body: HTMLElement, interaction: MeetingInteraction}} options
   */
  constructor({ button, body, interaction }) {
    this.button = button;
    this.interaction = interaction;
    this.form = new PollForm(interaction);
    this.list = h("div.poll-list");
    this.empty = h("p.panel-empty");
    this.exportError = h("p.panel-error", { role: "alert", "data-testid": "poll-export-error" });
    this.exports = h(
      "div.panel-actions.poll-exports",
      {},
      h("span", { i18n: "polls.export" }),
      smallButton("JSON", { "data-testid": "poll-export-json-button", "i18n-aria-label": "polls.export_json" }, () => this._export("json")),
      smallButton("CSV", { "data-testid": "poll-export-csv-button", "i18n-aria-label": "polls.export_csv" }, () => this._export("csv")),
      this.exportError,
    );
    body.append(this.form.el, this.empty, this.list, this.exports);
    /** @type {Map<string, Card>} */
    this._cards = new Map();
    /** @type {Map<string, Set<string>>} choices ticked but not sent yet, by poll id */
    this._ticked = new Map();
    this.render();
  }

  /** Show every poll again (only the parts that changed are rebuilt). */
  render() {
    const { isModerator } = this.interaction;
    const polls = this.interaction.polls
      .map((poll, index) => ({ poll, index }))
      .sort((a, b) => STATE_ORDER[a.poll.state] - STATE_ORDER[b.poll.state] || a.index - b.index)
      .map(({ poll }) => poll);
    renderList(this.list, polls, {
      key: (poll) => poll.poll_id,
      signature: () => "",
      build: (poll) => this._newCard(poll).el,
    });
    for (const id of [...this._cards.keys()]) {
      if (!polls.some((poll) => poll.poll_id === id)) this._cards.delete(id);
    }
    for (const poll of polls) this._update(/** @type {Card} */ (this._cards.get(poll.poll_id)), poll);
    this.form.el.hidden = !isModerator;
    this.exports.hidden = !isModerator || !polls.some((poll) => poll.state !== "draft");
    this.empty.hidden = polls.length > 0;
    this.empty.textContent = isModerator ? t("polls.empty_host") : t("polls.empty");
    setBadge(this.button, this.waitingForVote().length, t("polls.to_answer"));
  }

  /** Open polls this person has not answered yet. */
  waitingForVote() {
    return this.interaction.polls.filter((poll) => poll.state === "open" && !poll.voted);
  }

  /**
   * @param {Poll} poll
   * @returns {Card}
   * @private
   */
  _newCard(poll) {
    const card = {
      el: h("article.poll", { "data-testid": "poll", "data-poll-id": poll.poll_id }),
      head: h("header.poll-head"),
      choices: h("div.poll-choices"),
      results: h("div.poll-results"),
      actions: h("div.panel-actions"),
      error: h("p.panel-error", { role: "alert", "data-testid": "poll-error" }),
      sigs: {},
    };
    card.el.append(card.head, card.choices, card.results, card.error, card.actions);
    this._cards.set(poll.poll_id, card);
    return card;
  }

  /**
   * @param {Card} card
   * @param {Poll} poll
   * @private
   */
  _update(card, poll) {
    const mod = this.interaction.isModerator;
    card.el.dataset.state = poll.state;
    card.el.setAttribute("aria-label", t("polls.card_label", { question: poll.question }));
    this._part(card, "head", [poll.question, poll.kind, poll.anonymous, poll.state, poll.results_shared], () => this._head(poll));
    this._part(card, "choices", [poll.state, poll.voted, poll.my_choice, poll.options, poll.correct_option_ids], () =>
      this._choices(card, poll),
    );
    this._part(card, "results", [poll.results, poll.state, poll.results_shared, mod], () => this._results(poll));
    this._part(card, "actions", [poll.state, poll.results_shared, mod], () => this._actions(card, poll));
  }

  /**
   * Rebuild one part of a card if what it shows changed.
   * @param {Card} card
   * @param {"head" | "choices" | "results" | "actions"} part
   * @param {unknown[]} shows
   * @param {() => (Node | null)[]} build
   * @private
   */
  _part(card, part, shows, build) {
    const sig = JSON.stringify(shows);
    if (card.sigs[part] === sig) return;
    card.sigs[part] = sig;
    card[part].replaceChildren(...build().filter((node) => node !== null));
  }

  /**
   * @param {Poll} poll
   * @private
   */
  _head(poll) {
    const tags = [kindLabel(poll.kind), poll.anonymous ? t("polls.anonymous") : t("polls.named")];
    if (poll.results_shared) tags.push(t("polls.results_shared"));
    return [
      h("h3.poll-question", { text: poll.question }),
      h(
        "p.poll-meta",
        {},
        h("span.poll-state", { "data-state": poll.state, text: stateLabel(poll.state) }),
        h("span", { text: ` · ${tags.join(" · ")}` }),
      ),
    ];
  }

  /**
   * The voting form (open polls), or what we chose (closed ones).
   * @param {Card} card
   * @param {Poll} poll
   * @private
   */
  _choices(card, poll) {
    if (poll.state === "draft") {
      return [h("ul.poll-draft-options", {}, ...poll.options.map((o) => h("li", { text: optionText(poll, o.id, o.text) })))];
    }
    const open = poll.state === "open";
    const locked = !open || (poll.anonymous && Boolean(poll.voted));
    const one = takesOne(poll);
    const ticked = this._ticked.get(poll.poll_id) ?? new Set(poll.my_choice ?? []);
    const inputs = poll.options.map((option) => {
      const input = /** @type {HTMLInputElement} */ (
        h("input", {
          type: one ? "radio" : "checkbox",
          name: `vote-${poll.poll_id}`,
          value: option.id,
          "data-testid": "poll-choice",
          "data-option-id": option.id,
          disabled: locked,
        })
      );
      input.checked = ticked.has(option.id);
      input.addEventListener("change", () => {
        const now = new Set(inputs.filter((i) => i.input.checked).map((i) => i.input.value));
        this._ticked.set(poll.poll_id, now);
        card.error.textContent = "";
      });
      return { input, option };
    });
    const fieldset = h(
      "fieldset.poll-options",
      { disabled: locked },
      h("legend.visually-hidden", { text: one ? t("polls.choose_one") : t("polls.choose_more") }),
      ...inputs.map(({ input, option }) =>
        h("label.poll-option", {}, input, h("span", { text: optionText(poll, option.id, option.text) })),
      ),
    );
    const nodes = [fieldset, h("p.poll-note", { text: voteNote(poll, one) })];
    if (open && !locked) {
      const vote = smallButton(poll.voted ? t("polls.change_vote") : t("polls.vote"), { "data-testid": "poll-vote-button", class: "small primary" }, () =>
        this._vote(card, poll, inputs.map((i) => i.input)),
      );
      nodes.push(h("div.panel-actions", {}, vote));
    }
    return nodes;
  }

  /**
   * @param {Poll} poll
   * @private
   */
  _results(poll) {
    const results = poll.results;
    if (!results) {
      if (poll.state === "closed" && !this.interaction.isModerator) return [h("p.poll-note", { text: t("polls.closed_not_shared") })];
      return [];
    }
    const live = poll.state === "open";
    const title = t(this.interaction.isModerator && !poll.results_shared ? (live ? "polls.live_results_hosts" : "polls.results_hosts") : live ? "polls.live_results" : "polls.results");
    const rows = results.options.map((row) =>
      h(
        "li.poll-result",
        { "data-testid": "poll-result", "data-option-id": row.id, "data-votes": row.votes, "data-correct": row.correct === undefined ? null : String(row.correct) },
        h(
          "div.poll-result-line",
          {},
          h("span.poll-result-text", { text: `${row.correct ? "✓ " : ""}${row.text}` }),
          h("span.poll-result-count", { text: `${t("polls.votes", { count: row.votes })} · ${formatPercent(row.percent)}` }),
        ),
        h("div.poll-bar", { role: "presentation" }, h("div.poll-bar-fill", { style: `width: ${clampPercent(row.percent)}%` })),
      ),
    );
    const scores = results.scores ? Object.values(results.scores) : null;
    return [
      h("h4.poll-results-title", { text: title }),
      h("ol.poll-result-list", {}, ...rows),
      h("p.poll-voters", {}, h("span", { "data-testid": "poll-voter-count", text: String(results.voters) }), h("span", { text: ` ${t("polls.voted_suffix", { count: results.voters })}` })),
      scores && scores.length
        ? h("p.poll-note", { text: t("polls.correct_count", { correct: scores.filter((s) => s > 0).length, total: scores.length }) })
        : null,
    ];
  }

  /**
   * Host and co-host buttons.
   * @param {Card} card
   * @param {Poll} poll
   * @private
   */
  _actions(card, poll) {
    if (!this.interaction.isModerator) return [];
    const id = poll.poll_id;
    const run = (/** @type {() => Promise<unknown>} */ action) => {
      card.error.textContent = "";
      action().catch((error) => (card.error.textContent = errorText(error)));
    };
    const i = this.interaction;
    const buttons = [];
    if (poll.state === "draft") {
      buttons.push(smallButton(t("polls.launch"), { "data-testid": "poll-launch-button", class: "small primary" }, () => run(() => i.launchPoll(id))));
      buttons.push(smallButton(t("common.delete"), { "data-testid": "poll-delete-button", class: "small danger" }, () => run(() => i.deletePoll(id))));
    }
    if (poll.state === "open") {
      buttons.push(smallButton(t("polls.close"), { "data-testid": "poll-close-button" }, () => run(() => i.closePoll(id))));
    }
    if (poll.state !== "draft" && !poll.results_shared) {
      buttons.push(smallButton(t("polls.share"), { "data-testid": "poll-share-button" }, () => run(() => i.sharePoll(id))));
    }
    return buttons;
  }

  /**
   * @param {Card} card
   * @param {Poll} poll
   * @param {HTMLInputElement[]} inputs
   * @private
   */
  async _vote(card, poll, inputs) {
    const chosen = inputs.filter((input) => input.checked).map((input) => input.value);
    if (chosen.length === 0) {
      card.error.textContent = t("polls.choose_first");
      return;
    }
    card.error.textContent = "";
    try {
      await this.interaction.vote(poll.poll_id, chosen);
      this._ticked.delete(poll.poll_id);
    } catch (error) {
      card.error.textContent = errorText(error);
    }
  }

  /**
   * @param {"json" | "csv"} format
   * @private
   */
  async _export(format) {
    this.exportError.textContent = "";
    try {
      const file = await this.interaction.exportPolls(format);
      download(file.filename, file.content_type, file.content);
    } catch (error) {
      this.exportError.textContent = errorText(error);
    }
  }
}

/**
 * Radio buttons (exactly one answer) or check boxes. A participant does not
 * know how many answers a quiz has while it is open: check boxes then.
 * @param {Poll} poll
 */
function takesOne(poll) {
  if (poll.kind === "single") return true;
  return poll.kind === "quiz" && Array.isArray(poll.correct_option_ids) && poll.correct_option_ids.length === 1;
}

/**
 * @param {Poll} poll
 * @param {boolean} one
 */
function voteNote(poll, one) {
  if (poll.state === "closed") return poll.voted ? t("polls.note_closed_thanks") : t("polls.note_closed");
  const how = one ? t("polls.note_choose_one") : t("polls.note_choose_more");
  if (poll.anonymous) {
    return poll.voted ? t("polls.note_anonymous_voted") : `${how} ${t("polls.note_anonymous")}`;
  }
  return poll.voted ? t("polls.note_voted") : `${how} ${t("polls.note_can_change")}`;
}

/**
 * An option, marked when it is a quiz's correct answer and we may know that.
 * @param {Poll} poll
 * @param {string} id
 * @param {string} text
 */
function optionText(poll, id, text) {
  return poll.kind === "quiz" && poll.correct_option_ids?.includes(id) ? t("polls.correct_option", { text }) : text;
}

/** @param {number} percent */
function formatPercent(percent) {
  return formatNumber(Math.round(Number(percent) || 0) / 100, { style: "percent" });
}

/** @param {number} percent */
function clampPercent(percent) {
  return Math.min(100, Math.max(0, Number(percent) || 0));
}
