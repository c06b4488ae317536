// The form hosts and co-hosts build a questionnaire with: a title, anonymous
// or not, and 1-20 questions (one choice, several, a 1-5 rating, a short text
// with its length limit). It is saved as a draft; the list launches it.

import { t } from "../i18n.js";
import { h } from "./dom.js";
import { errorText, smallButton } from "./kit.js";

/** @typedef {import("../questionnaire_book.js").QuestionnaireBook} QuestionnaireBook */
/** @typedef {import("../questionnaire_book.js").QuestionSpec} QuestionSpec */

const KINDS = ["single", "multiple", "rating", "text"];
const MAX_QUESTIONS = 20;
let formCount = 0;

export class QuestionnaireForm {
  /** @param {QuestionnaireBook} book */
  constructor(book) {
    this.book = book;
    const id = `questionnaire-form-${++formCount}`;
    this._id = id;
    this._rows = 0;
    this.title = /** @type {HTMLInputElement} */ (
      h("input", { type: "text", id: `${id}-title`, maxlength: 200, "data-testid": "questionnaire-title-input" })
    );
    this.anonymous = /** @type {HTMLInputElement} */ (
      h("input", { type: "checkbox", id: `${id}-anonymous`, "data-testid": "questionnaire-anonymous-checkbox" })
    );
    this.questions = h("ol.questionnaire-form-questions", { "i18n-aria-label": "questionnaire.questions" });
    this.add = smallButton(t("questionnaire.add_question"), { "data-testid": "questionnaire-add-question-button" }, () => {
      if (this.questions.children.length < MAX_QUESTIONS) this._addRow();
    });
    this.error = h("p.panel-error", { role: "alert", "data-testid": "questionnaire-form-error" });
    this.save = h("button.small.primary", { type: "submit", "data-testid": "questionnaire-create-button", i18n: "questionnaire.save_draft" });
    this.el = h(
      "form.poll-form.questionnaire-form",
      { "i18n-aria-label": "questionnaire.new" },
      h("h3", { i18n: "questionnaire.new" }),
      h("label.field", { for: `${id}-title` }, h("span", { i18n: "questionnaire.title" }), this.title),
      h("label.check", { for: `${id}-anonymous` }, this.anonymous, h("span", { i18n: "questionnaire.anonymous_hint" })),
      this.questions,
      h("div.panel-actions", {}, this.add),
      this.error,
      h("div.panel-actions", {}, this.save),
    );
    this.el.addEventListener("input", () => (this.error.textContent = ""));
    this.el.addEventListener("submit", (event) => {
      event.preventDefault();
      void this._submit();
    });
    this._addRow();
  }

  /** @private */
  _addRow() {
    const n = ++this._rows;
    const base = `${this._id}-q${n}`;
    const kind = /** @type {HTMLSelectElement} */ (
      h("select", { id: `${base}-kind`, "data-testid": "questionnaire-kind-select" }, ...KINDS.map((k) => h("option", { value: k, i18n: `questionnaire.kind_${k}` })))
    );
    const prompt = /** @type {HTMLInputElement} */ (
      h("input", { type: "text", id: `${base}-prompt`, maxlength: 500, "data-testid": "questionnaire-prompt-input" })
    );
    const options = /** @type {HTMLTextAreaElement} */ (
      h("textarea", { id: `${base}-options`, rows: 3, "data-testid": "questionnaire-options-input" })
    );
    const maxLength = /** @type {HTMLInputElement} */ (
      h("input", { type: "number", id: `${base}-max`, min: 1, max: 500, value: 200, "data-testid": "questionnaire-max-length-input" })
    );
    const optionsField = h("label.field", { for: options.id }, h("span", { i18n: "questionnaire.options_one_per_line" }), options);
    const lengthField = h("label.field", { for: maxLength.id }, h("span", { i18n: "questionnaire.max_length" }), maxLength);
    const remove = smallButton(t("questionnaire.remove_question"), { "data-testid": "questionnaire-remove-question-button" }, () => {
      if (this.questions.children.length > 1) row.remove();
    });
    const row = h(
      "li.questionnaire-form-question",
      { "data-testid": "questionnaire-form-question" },
      h("label.field", { for: kind.id }, h("span", { i18n: "questionnaire.kind" }), kind),
      h("label.field", { for: prompt.id }, h("span", { i18n: "questionnaire.prompt" }), prompt),
      optionsField,
      lengthField,
      remove,
    );
    const show = () => {
      optionsField.hidden = !["single", "multiple"].includes(kind.value);
      lengthField.hidden = kind.value !== "text";
    };
    kind.addEventListener("change", show);
    show();
    this.questions.append(row);
  }

  /** @returns {QuestionSpec[]} @private */
  _specs() {
    return [...this.questions.children].map((row) => {
      const get = (/** @type {string} */ testid) =>
        /** @type {HTMLInputElement} */ (row.querySelector(`[data-testid="${testid}"]`));
      const kind = get("questionnaire-kind-select").value;
      /** @type {QuestionSpec} */
      const spec = { kind, prompt: get("questionnaire-prompt-input").value };
      if (kind === "single" || kind === "multiple") {
        spec.options = get("questionnaire-options-input").value.split("\n").map((line) => line.trim()).filter(Boolean);
      }
      if (kind === "text") spec.max_length = Number(get("questionnaire-max-length-input").value) || 200;
      return spec;
    });
  }

  /** @private */
  async _submit() {
    this.save.disabled = true;
    try {
      await this.book.create({ title: this.title.value, anonymous: this.anonymous.checked, questions: this._specs() });
      this.title.value = "";
      this.anonymous.checked = false;
      this.questions.replaceChildren();
      this._addRow();
    } catch (error) {
      this.error.textContent = errorText(error);
    } finally {
      this.save.disabled = false;
    }
  }
}
