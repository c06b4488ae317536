// The form hosts and co-hosts prepare a poll with: question, 2-20 options,
// kind (one choice, several, quiz with its correct answers), anonymous.

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
      h("input", { type: "text", id: `${id}-question`, "data-testid": "poll-question-input", maxlength: 500, placeholder: "e.g. Where shall we have lunch?" })
    );
    this.kind = /** @type {HTMLSelectElement} */ (
      h(
        "select",
        { id: `${id}-kind`, "data-testid": "poll-kind-select" },
        h("option", { value: "single", text: "One choice" }),
        h("option", { value: "multiple", text: "Several choices" }),
        h("option", { value: "quiz", text: "Quiz (with correct answers)" }),
      )
    );
    this.anonymous = /** @type {HTMLInputElement} */ (
      h("input", { type: "checkbox", id: `${id}-anonymous`, "data-testid": "poll-anonymous-checkbox" })
    );
    this.anonymousHint = h("span.field-hint");
    this.options = h("ol.poll-form-options", { "aria-label": "Options" });
    this.addOption = smallButton("Add option", { "data-testid": "poll-add-option-button" }, () => {
      this._addOptionRow("");
      this._optionInputs().at(-1)?.focus();
    });
    this.correctHint = h("p.field-hint", { text: "Tick the correct answers." });
    this.error = h("p.panel-error", { role: "alert", "data-testid": "poll-form-error" });
    this.create = h("button.small.primary", { type: "submit", "data-testid": "poll-create-button", text: "Save draft" });
    this.el = h(
      "form.poll-form",
      { "aria-label": "New poll" },
      h("h3", { text: "New poll" }),
      h("label.field", { for: `${id}-question` }, h("span", { text: "Question" }), this.question),
      h("div.field", {}, h("span", { text: "Options" }), this.correctHint, this.options, this.addOption),
      h("label.field", { for: `${id}-kind` }, h("span", { text: "Kind" }), this.kind),
      h("label.check", { for: `${id}-anonymous` }, this.anonymous, h("span", { text: "Anonymous (nobody sees who voted for what)" })),
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
      "aria-label": `Option ${number}`,
      placeholder: `Option ${number}`,
    });
    const correct = h("input", { type: "checkbox", "data-testid": "poll-correct-checkbox", "aria-label": `Option ${number} is correct` });
    const row = h("li.poll-form-option", {}, h("label.poll-correct", { title: "Correct answer" }, correct), input);
    const remove = smallButton("×", { "aria-label": `Remove option ${number}`, title: "Remove this option", class: "small icon-text" }, () => {
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
      row.querySelector('[data-testid="poll-option-input"]')?.setAttribute("aria-label", `Option ${n}`);
      row.querySelector('[data-testid="poll-option-input"]')?.setAttribute("placeholder", `Option ${n}`);
      row.querySelector('[data-testid="poll-correct-checkbox"]')?.setAttribute("aria-label", `Option ${n} is correct`);
      const remove = /** @type {HTMLButtonElement | null} */ (row.querySelector("button"));
      if (remove) {
        remove.setAttribute("aria-label", `Remove option ${n}`);
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
    this.anonymousHint.textContent = quiz ? "A quiz cannot be anonymous: scores need names." : "";
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
    if (!question) return { problem: "Write the question first." };
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
    if (options.length < POLL_MIN_OPTIONS) return { problem: `A poll needs at least ${POLL_MIN_OPTIONS} options.` };
    if (new Set(options).size !== options.length) {
      return { problem: "Two options are the same: make each one different." };
    }
    if (kind === "quiz" && correct.length === 0) return { problem: "Tick at least one correct answer for the quiz." };
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
