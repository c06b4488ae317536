// The language switch: a labelled <select> of the languages there are
// catalogs for, each named in itself ("Deutsch", "English"). Choosing one
// switches the page at once and is remembered (i18n.js: setLanguage).

import { h } from "./dom.js";
import { LANGUAGE_CHANGED, events, language, languages, setLanguage, setText } from "../i18n.js";

/**
 * A language switch to put in a page.
 * @param {string} id the select's id (a page may hold more than one switch)
 * @returns {HTMLElement} a label wrapping the select
 */
export function languageSwitch(id = "language-switch") {
  const select = /** @type {HTMLSelectElement} */ (h("select", { id, name: "language" }));
  for (const { code, name } of languages()) {
    select.append(h("option", { value: code, lang: code, text: name, selected: code === language() }));
  }
  select.addEventListener("change", () => setLanguage(select.value));
  events.addEventListener(LANGUAGE_CHANGED, () => {
    select.value = language();
  });
  const caption = setText(h("span.language-switch-label"), "language.label");
  return h("label.language-switch", { for: id }, caption, select);
}
