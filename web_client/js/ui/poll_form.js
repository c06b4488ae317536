// The form hosts and co-hosts prepare a poll with: question, 2-20 options,
// kind (one choice, several, quiz with its correct answers), anonymous.

import { t } from "../i18n.js";
import { POLL_MAX_OPTIONS, POLL_MIN_OPTIONS } from "../protocol.js";
import { h } from "./dom.js";
import { errorText, smallButton } from "./kit.js";

/** @typedef {import("../meeting.js").MeetingInteraction} MeetingInteraction */
/** @typedef {import("../protocol.js").PollKind} PollKind */

let formCount = 0;

export class PollForm {
  /** @param {MeetingInteraction} interaction */
  constructor(interaction) {
    this.interaction = interaction;
    const id = `poll-form-${++formCount}`;
    this.question = /** @type {HTMLInputElement} */ (
      h("input", { type: "text", id: `${id}-question`, "data-testid": "poll-question-input", maxlength: 500, "i18n-placeholder": "pollform.question_placeholder" })
    );
    this.kind = /** @type {HTMLSelectElement} */ (
      h(
        "select",
        { id: `${id}-kind`, "data-testid": "poll-kind-select" },
        h("option", { value: "single", i18n: "polls.kind_single" }),
        h("option", { value: "multiple", i18n: "polls.kind_multiple" }),
        h("option", { value: "quiz", i18n: "pollform.kind_quiz" }),
      )
    );
    this.anonymous = /** @type {HTMLInputElement} */ (
      h("input", { type: "checkbox", id: `${id}-anonymous`, "data-testid": "poll-anonymous-checkbox" })
    );
    this.anonymousHint = h("span.field-hint");
    this.options = h("ol.poll-form-options", { "i18n-aria-label": "pollform.options" });
    this.addOption = smallButton(t("pollform.add_option"), { "data-testid": "poll-add-option-button" }, () => {
      this._addOptionRow("");
      this._optionInputs().at(-1)?.focus();
    });
    this.correctHint = h("p.field-hint", { i18n: "pollform.tick_correct" });
    this.error = h("p.panel-error", { role: "alert", "data-testid": "poll-form-error" });
    this.create = h("button.small.primary", { type: "submit", "data-testid": "poll-create-button", i18n: "pollform.save_draft" });
    this.el = h(
      "form.poll-form",
      { "i18n-aria-label": "pollform.new_poll" },
      h("h3", { i18n: "pollform.new_poll" }),
      h("label.field", { for: `${id}-question` }, h("span", { i18n: "pollform.question" }), this.question),
      h("div.field", {}, h("span", { i18n: "pollform.options" }), this.correctHint, this.options, this.addOption),
      h("label.field", { for: `${id}-kind` }, h("span", { i18n: "pollform.kind" }), this.kind),
      h("label.check", { for: `${id}-anonymous` }, this.anonymous, h("span", { i18n: "pollform.anonymous" })),
      this.anonymousHint,
      this.error,
      h("div.panel-actions", {}, this.create),
    );
    this.kind.addEventListener("change", () => this._showKind());
    this.el.addEventListener("input", () => (this.error.textContent = ""));
    this.el.addEventListener("submit", (event) => {
      event.preventDefault();
      void this._submit();
    });
    this._reset();
  }

  /** @private */
  _reset() {
    this.question.value = "";
    this.kind.value = "single";
    this.anonymous.checked = false;
    this.options.replaceChildren();
    for (let i = 0; i < POLL_MIN_OPTIONS; i++) this._addOptionRow("");
    this._showKind();
  }

  /**
   * @param {string} text
   * @private
   */
  _addOptionRow(text) {
    if (this.options.children.length >= POLL_MAX_OPTIONS) return;
    const number = this.options.children.length + 1;
    const input = h("input", {
      type: "text",
      "data-testid": "poll-option-input",
      maxlength: 200,
      value: text,
      "aria-label": t("pollform.option", { number }),
      placeholder: t("pollform.option", { number }),
    });
    const correct = h("input", { type: "checkbox", "data-testid": "poll-correct-checkbox", "aria-label": t("pollform.option_correct", { number }) });
    const row = h("li.poll-form-option", {}, h("label.poll-correct", { "i18n-title": "pollform.correct_answer" }, correct), input);
    const remove = smallButton("×", { "aria-label": t("pollform.remove_option", { number }), "i18n-title": "pollform.remove_this_option", class: "small icon-text" }, () => {
      row.remove();
      this._renumber();
    });
    row.append(remove);
    this.options.append(row);
    this._renumber();
    this._showKind();
  }

  /** @private */
  _renumber() {
    const rows = [...this.options.children];
    rows.forEach((row, index) => {
      const n = index + 1;
      row.querySelector('[data-testid="poll-option-input"]')?.setAttribute("aria-label", t("pollform.option", { number: n }));
      row.querySelector('[data-testid="poll-option-input"]')?.setAttribute("placeholder", t("pollform.option", { number: n }));
      row.querySelector('[data-testid="poll-correct-checkbox"]')?.setAttribute("aria-label", t("pollform.option_correct", { number: n }));
      const remove = /** @type {HTMLButtonElement | null} */ (row.querySelector("button"));
      if (remove) {
        remove.setAttribute("aria-label", t("pollform.remove_option", { number: n }));
        remove.hidden = rows.length <= POLL_MIN_OPTIONS;
      }
    });
    /** @type {HTMLButtonElement} */ (this.addOption).disabled = rows.length >= POLL_MAX_OPTIONS;
  }

  /** @private */
  _showKind() {
    const quiz = this.kind.value === "quiz";
    this.el.dataset.kind = this.kind.value;
    this.correctHint.hidden = !quiz;
    for (const box of this.el.querySelectorAll('[data-testid="poll-correct-checkbox"]')) {
      /** @type {HTMLElement} */ (box.parentElement).hidden = !quiz;
    }
    if (quiz) this.anonymous.checked = false;
    this.anonymous.disabled = quiz;
    this.anonymousHint.textContent = quiz ? t("pollform.quiz_not_anonymous") : "";
  }

  /** @private */
  _optionInputs() {
    return /** @type {HTMLInputElement[]} */ ([...this.options.querySelectorAll('[data-testid="poll-option-input"]')]);
  }

  /**
   * The poll as `poll_create` wants it, or an error message.
   * @returns {{poll?: {question: string, options: string[], kind: PollKind, anonymous: boolean, correct_option_ids?: string[]}, problem?: string}}
   * @private
   */
  _read() {
    const question = this.question.value.trim();
    if (!question) return { problem: t("pollform.question_first") };
    const kind = /** @type {PollKind} */ (this.kind.value);
    /** @type {string[]} */
    const options = [];
    /** @type {string[]} */
    const correct = [];
    for (const row of this.options.children) {
      const text = /** @type {HTMLInputElement} */ (row.querySelector('[data-testid="poll-option-input"]')).value.trim();
      if (!text) continue; // blank rows are left out
      options.push(text);
      const box = /** @type {HTMLInputElement} */ (row.querySelector('[data-testid="poll-correct-checkbox"]'));
      if (box.checked) correct.push(`o${options.length}`); // ids are o1, o2, … in the order given
    }
    if (options.length < POLL_MIN_OPTIONS) return { problem: t("pollform.min_options", { min: POLL_MIN_OPTIONS }) };
    if (new Set(options).size !== options.length) {
      return { problem: t("pollform.duplicate") };
    }
    if (kind === "quiz" && correct.length === 0) return { problem: t("pollform.quiz_needs_correct") };
    const poll = { question, options, kind, anonymous: kind !== "quiz" && this.anonymous.checked };
    return { poll: kind === "quiz" ? { ...poll, correct_option_ids: correct } : poll };
  }

  /** @private */
  async _submit() {
    const { poll, problem } = this._read();
    if (!poll) {
      this.error.textContent = problem ?? "";
      return;
    }
    this.create.toggleAttribute("disabled", true);
    try {
      await this.interaction.createPoll(poll);
      this._reset();
    } catch (error) {
      this.error.textContent = errorText(error);
    } finally {
      this.create.toggleAttribute("disabled", false);
    }
  }
}
