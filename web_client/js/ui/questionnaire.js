// The questionnaires section of the polls panel: hosts and co-hosts build,
// launch, close, share and export questionnaires and watch live results;
// everyone answers an open questionnaire as one form and may change the
// answers until it closes, and sees the results once they are shared.

import { formatNumber, t } from "../i18n.js";
import { h } from "./dom.js";
import { download, errorText, renderList, smallButton } from "./kit.js";
import { QuestionnaireForm } from "./questionnaire_form.js";

/** @typedef {import("../meeting.js").MeetingInteraction} MeetingInteraction */
/** @typedef {import("../questionnaire_book.js").Questionnaire} Questionnaire */
/** @typedef {import("../questionnaire_book.js").Question} Question */
/** @typedef {import("../questionnaire_book.js").QuestionResults} QuestionResults */

/**
 * @typedef {object} Card
 * @property {HTMLElement} el
 * @property {HTMLElement} head
 * @property {HTMLElement} form
 * @property {HTMLElement} results
 * @property {HTMLElement} actions
 * @property {HTMLElement} error
 * @property {Record<string, string>} sigs what each part shows now
 */

const STATE_ORDER = { open: 0, draft: 1, closed: 2 };

export class QuestionnairesView {
  /** @param {{body: HTMLElement, interaction: MeetingInteraction}} options */
  constructor({ body, interaction }) {
    this.interaction = interaction;
    this.book = interaction.questionnaires;
    this.builder = new QuestionnaireForm(this.book);
    this.list = h("div.poll-list.questionnaire-list");
    this.exportError = h("p.panel-error", { role: "alert" });
    this.exports = h(
      "div.panel-actions.poll-exports",
      {},
      h("span", { i18n: "questionnaire.export" }),
      smallButton("JSON", { "data-testid": "questionnaire-export-json-button" }, () => this._export("json")),
      smallButton("CSV", { "data-testid": "questionnaire-export-csv-button" }, () => this._export("csv")),
      this.exportError,
    );
    this.heading = h("h3.questionnaire-heading", { i18n: "questionnaire.heading" });
    this.el = h("section.questionnaires", { "data-testid": "questionnaires" }, this.heading, this.builder.el, this.list, this.exports);
    body.append(this.el);
    /** @type {Map<string, Card>} */
    this._cards = new Map();
    this.book.addEventListener("questionnaires", () => this.render());
    this.render();
  }

  /** Show every questionnaire again (only the parts that changed are rebuilt). */
  render() {
    const mod = this.interaction.isModerator;
    const items = this.book.items
      .map((item, index) => ({ item, index }))
      .sort((a, b) => STATE_ORDER[a.item.state] - STATE_ORDER[b.item.state] || a.index - b.index)
      .map(({ item }) => item);
    renderList(this.list, items, {
      key: (item) => item.questionnaire_id,
      signature: () => "",
      build: (item) => this._newCard(item).el,
    });
    for (const id of [...this._cards.keys()]) {
      if (!items.some((item) => item.questionnaire_id === id)) this._cards.delete(id);
    }
    for (const item of items) this._update(/** @type {Card} */ (this._cards.get(item.questionnaire_id)), item);
    this.builder.el.hidden = !mod;
    this.exports.hidden = !mod || !items.some((item) => item.state !== "draft");
    this.el.hidden = !mod && items.length === 0;
  }

  /**
   * @param {Questionnaire} item
   * @returns {Card}
   * @private
   */
  _newCard(item) {
    const card = {
      el: h("article.poll.questionnaire", { "data-testid": "questionnaire", "data-questionnaire-id": item.questionnaire_id }),
      head: h("header.poll-head"),
      form: h("div.questionnaire-form-answers"),
      results: h("div.poll-results"),
      actions: h("div.panel-actions"),
      error: h("p.panel-error", { role: "alert", "data-testid": "questionnaire-error" }),
      sigs: {},
    };
    card.el.append(card.head, card.form, card.results, card.error, card.actions);
    this._cards.set(item.questionnaire_id, card);
    return card;
  }

  /**
   * @param {Card} card
   * @param {Questionnaire} item
   * @private
   */
  _update(card, item) {
    const mod = this.interaction.isModerator;
    card.el.dataset.state = item.state;
    card.el.setAttribute("aria-label", t("questionnaire.card_label", { title: item.title }));
    this._part(card, "head", [item.title, item.state, item.anonymous, item.results_shared, item.results?.respondents], () => this._head(item));
    // The form is rebuilt only when what it asks or what we sent changed, so
    // answers being typed survive live result updates.
    this._part(card, "form", [item.state, item.questions, item.answered, item.my_answers], () => this._form(card, item));
    this._part(card, "results", [item.results, mod], () => this._results(item));
    this._part(card, "actions", [item.state, item.results_shared, mod], () => this._actions(card, item));
  }

  /**
   * @param {Card} card
   * @param {"head" | "form" | "results" | "actions"} part
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

  /** @param {Questionnaire} item @private */
  _head(item) {
    const tags = [t(`questionnaire.state_${item.state}`), item.anonymous ? t("questionnaire.anonymous") : t("questionnaire.named")];
    if (item.results) tags.push(t("questionnaire.respondents", { count: item.results.respondents }));
    if (item.results_shared) tags.push(t("questionnaire.results_shared"));
    return [h("h3.poll-question", { text: item.title }), h("p.poll-meta", { text: tags.join(" · ") })];
  }

  /**
   * The answer form (open), what we answered (closed), the questions (draft).
   * @param {Card} card
   * @param {Questionnaire} item
   * @private
   */
  _form(card, item) {
    if (item.state === "draft") {
      return [h("ol.poll-draft-options", {}, ...item.questions.map((q) => h("li", { text: `${q.prompt} (${t(`questionnaire.kind_${q.kind}`)})` })))];
    }
    const open = item.state === "open";
    const mine = item.my_answers ?? this.book.lastSent(item.questionnaire_id) ?? {};
    const form = /** @type {HTMLFormElement} */ (h("form.questionnaire-answers", { "data-testid": "questionnaire-answer-form" }));
    const fields = item.questions.map((question) => this._field(item, question, mine[question.id], !open));
    form.append(...fields);
    const notes = [];
    if (item.answered) notes.push(open ? t("questionnaire.answered_can_edit") : t("questionnaire.answered"));
    if (item.anonymous) notes.push(t("questionnaire.anonymous_note"));
    const nodes = [form];
    if (notes.length) nodes.push(h("p.poll-note", { "data-testid": "questionnaire-note", text: notes.join(" ") }));
    if (open) {
      const submit = h("button.small.primary", {
        type: "submit",
        "data-testid": "questionnaire-submit-button",
        text: item.answered ? t("questionnaire.update") : t("questionnaire.submit"),
      });
      form.append(h("div.panel-actions", {}, submit));
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        void this._send(card, item, form);
      });
    }
    return nodes;
  }

  /**
   * One question of the form, prefilled with our answer.
   * @param {Questionnaire} item
   * @param {Question} question
   * @param {unknown} value
   * @param {boolean} locked
   * @private
   */
  _field(item, question, value, locked) {
    const name = `q-${item.questionnaire_id}-${question.id}`;
    const legend = h("legend", { text: question.prompt });
    const box = h("fieldset.poll-options.questionnaire-question", { "data-question-id": question.id, "data-kind": question.kind, disabled: locked }, legend);
    if (question.kind === "single" || question.kind === "multiple") {
      const chosen = new Set(Array.isArray(value) ? value : value ? [value] : []);
      for (const option of question.options ?? []) {
        const input = /** @type {HTMLInputElement} */ (
          h("input", { type: question.kind === "single" ? "radio" : "checkbox", name, value: option.id, "data-testid": "questionnaire-choice" })
        );
        input.checked = chosen.has(option.id);
        box.append(h("label.poll-option", {}, input, h("span", { text: option.text })));
      }
    } else if (question.kind === "rating") {
      const scale = h("div.questionnaire-rating", { role: "radiogroup", "aria-label": question.prompt });
      for (const rating of [1, 2, 3, 4, 5]) {
        const input = /** @type {HTMLInputElement} */ (
          h("input", { type: "radio", name, value: rating, "data-testid": "questionnaire-rating", "aria-label": t("questionnaire.rating_of", { value: rating }) })
        );
        input.checked = value === rating;
        scale.append(h("label.questionnaire-rating-value", {}, input, h("span", { text: String(rating) })));
      }
      box.append(scale);
    } else {
      const input = /** @type {HTMLInputElement} */ (
        h("input", { type: "text", name, maxlength: question.max_length ?? 200, "data-testid": "questionnaire-text-input", "aria-label": question.prompt })
      );
      input.value = typeof value === "string" ? value : "";
      box.append(input, h("span.field-hint", { text: t("questionnaire.at_most", { count: question.max_length ?? 200 }) }));
    }
    return box;
  }

  /**
   * @param {Card} card
   * @param {Questionnaire} item
   * @param {HTMLFormElement} form
   * @private
   */
  async _send(card, item, form) {
    /** @type {Record<string, unknown>} */
    const answers = {};
    for (const question of item.questions) {
      const name = `q-${item.questionnaire_id}-${question.id}`;
      const inputs = /** @type {HTMLInputElement[]} */ ([...form.querySelectorAll(`[name="${name}"]`)]);
      if (question.kind === "multiple") {
        const ticked = inputs.filter((i) => i.checked).map((i) => i.value);
        if (ticked.length) answers[question.id] = ticked;
      } else if (question.kind === "text") {
        const text = inputs[0]?.value.trim() ?? "";
        if (text) answers[question.id] = text;
      } else {
        const ticked = inputs.find((i) => i.checked);
        if (ticked) answers[question.id] = question.kind === "rating" ? Number(ticked.value) : ticked.value;
      }
    }
    card.error.textContent = "";
    if (!Object.keys(answers).length) {
      card.error.textContent = t("questionnaire.answer_one");
      return;
    }
    try {
      await this.book.answer(item.questionnaire_id, answers);
      card.error.textContent = "";
    } catch (error) {
      card.error.textContent = errorText(error);
    }
  }

  /** @param {Questionnaire} item @private */
  _results(item) {
    if (!item.results) return [];
    return [
      h(
        "div.questionnaire-results",
        { "data-testid": "questionnaire-results" },
        ...item.results.questions.map((question) => this._questionResults(question)),
      ),
    ];
  }

  /** @param {QuestionResults} question @private */
  _questionResults(question) {
    const rows = [];
    if (question.options) {
      for (const option of question.options) rows.push(bar(option.text, option.votes, option.percent));
    } else if (question.distribution) {
      const mean = question.mean === null || question.mean === undefined ? "–" : formatNumber(question.mean);
      rows.push(h("p.poll-meta", { "data-testid": "questionnaire-mean", text: t("questionnaire.mean", { mean }) }));
      for (const d of question.distribution) rows.push(bar(String(d.value), d.count, d.percent));
    } else {
      rows.push(
        h(
          "ul.questionnaire-texts",
          {},
          ...(question.answers ?? []).map((a) => h("li", { "data-testid": "questionnaire-text-answer", text: a.name ? `${a.name}: ${a.text}` : a.text })),
        ),
      );
    }
    return h(
      "section.questionnaire-question-results",
      { "data-question-id": question.question_id },
      h("h4", { text: `${question.prompt} (${t("questionnaire.answered_count", { count: question.answered })})` }),
      ...rows,
    );
  }

  /**
   * @param {Card} card
   * @param {Questionnaire} item
   * @private
   */
  _actions(card, item) {
    if (!this.interaction.isModerator) return [];
    const id = item.questionnaire_id;
    const act = (/** @type {string} */ key, /** @type {string} */ testid, /** @type {() => Promise<unknown>} */ run) =>
      smallButton(t(key), { "data-testid": testid }, async () => {
        card.error.textContent = "";
        try {
          await run();
        } catch (error) {
          card.error.textContent = errorText(error);
        }
      });
    if (item.state === "draft") {
      return [
        act("questionnaire.launch", "questionnaire-launch-button", () => this.book.launch(id)),
        act("questionnaire.delete", "questionnaire-delete-button", () => this.book.delete(id)),
      ];
    }
    const buttons = [];
    if (item.state === "open") buttons.push(act("questionnaire.close", "questionnaire-close-button", () => this.book.close(id)));
    if (!item.results_shared) buttons.push(act("questionnaire.share", "questionnaire-share-button", () => this.book.share(id)));
    return buttons;
  }

  /** @param {"json" | "csv"} format @private */
  async _export(format) {
    this.exportError.textContent = "";
    try {
      const file = await this.book.export(format);
      download(file.filename, file.content_type, file.content);
    } catch (error) {
      this.exportError.textContent = errorText(error);
    }
  }
}

/**
 * One result row: label, count and a bar of its share.
 * @param {string} label
 * @param {number} count
 * @param {number} percent
 */
function bar(label, count, percent) {
  const share = Math.max(0, Math.min(100, percent));
  return h(
    "div.poll-result",
    { "data-testid": "questionnaire-result-row", "data-count": count },
    h(
      "div.poll-result-line",
      {},
      h("span.poll-result-text", { text: label }),
      h("span.poll-result-count", { text: `${formatNumber(count)} · ${formatNumber(percent)} %` }),
    ),
    h("div.poll-bar", { role: "presentation" }, h("div.poll-bar-fill", { style: `width: ${share}%` })),
  );
}
