// Languages (issue 19): every string a person sees comes from a message
// catalog, web_client/locales/<language>.json (flat dotted keys, `{name}`
// placeholders). The language follows the browser (`navigator.languages`)
// until the person picks one in the page; that choice is kept in
// localStorage. Dates, times and numbers go through Intl in the same locale.
//
// The catalogs are bundled (a few KiB each), so `t()` is synchronous and a
// page never shows a key while a catalog loads. See web_client/README.md,
// "Languages", for the API and how to add a language.

import de from "../locales/de.json" with { type: "json" };
import en from "../locales/en.json" with { type: "json" };

/** @typedef {Record<string, string>} Catalog */
/** @typedef {Record<string, string | number>} Vars */

/**
 * Every catalog, by language code. The first is the fallback for a key a
 * catalog lacks (a test fails when one does: tests/e2e/test_catalogs.py).
 * @type {Record<string, Catalog>}
 */
export const CATALOGS = { en, de };
const FALLBACK = "en";
/** Where the person's own choice is kept (it wins over the browser's languages). */
export const STORAGE_KEY = "conf-server.language";
/** Fired on {@link events} after {@link setLanguage} changed the language. */
export const LANGUAGE_CHANGED = "languagechange";
/** Listeners re-render what they built with {@link t} when the language changes. */
export const events = new EventTarget();

/** The attributes {@link translate} sets from `data-i18n-<attribute>`. */
const ATTRIBUTES = ["aria-label", "title", "placeholder", "alt"];

/** @returns {readonly string[]} the browser's languages, most wanted first. */
function browserLanguages() {
  if (typeof navigator === "undefined") return [];
  if (navigator.languages?.length) return navigator.languages;
  return navigator.language ? [navigator.language] : [];
}

/** @returns {string | null} the language the person chose in the page, if any. */
function storedLanguage() {
  try {
    return globalThis.localStorage?.getItem(STORAGE_KEY) ?? null;
  } catch {
    return null; // storage refused (private mode, sandboxed frame): follow the browser
  }
}

/**
 * The catalog language for a list of BCP 47 tags: the first tag whose
 * language has a catalog ("de-AT" -> "de"), else English.
 * @param {readonly string[]} tags
 * @returns {string}
 */
export function pickLanguage(tags) {
  for (const tag of tags) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (Object.hasOwn(CATALOGS, base)) return base;
  }
  return FALLBACK;
}

let current = pickLanguage([storedLanguage() ?? "", ...browserLanguages()].filter(Boolean));

/** @returns {string} the current language code ("de", "en"). */
export function language() {
  return current;
}

/** @returns {{code: string, name: string}[]} the languages there are catalogs for, each named in itself. */
export function languages() {
  return Object.entries(CATALOGS).map(([code, catalog]) => ({ code, name: catalog["language.name"] ?? code }));
}

/**
 * The locale for Intl: the browser's own tag when it is of the current
 * language (so "de-AT" or "en-GB" keep their regional formats), else the
 * language itself.
 * @returns {string}
 */
export function locale() {
  const own = browserLanguages().find((tag) => tag.toLowerCase().split("-")[0] === current);
  return own ?? current;
}

/**
 * Switch the language: remembered in localStorage, `<html lang>` set, the
 * document's `data-i18n` elements translated again and {@link LANGUAGE_CHANGED}
 * fired so views re-render. An unknown code is ignored.
 * @param {string} code
 */
export function setLanguage(code) {
  if (!Object.hasOwn(CATALOGS, code)) return;
  try {
    globalThis.localStorage?.setItem(STORAGE_KEY, code);
  } catch {
    // not remembered; the page still switches
  }
  const changed = code !== current;
  current = code;
  if (typeof document !== "undefined") translate(document);
  if (changed) events.dispatchEvent(new CustomEvent(LANGUAGE_CHANGED, { detail: { language: code } }));
}

/**
 * Whether the current catalog (or the fallback) has `key`.
 * @param {string} key
 */
export function hasKey(key) {
  return Object.hasOwn(CATALOGS[current], key) || Object.hasOwn(CATALOGS[FALLBACK], key);
}

/** @param {string} key */
function lookup(key) {
  return CATALOGS[current][key] ?? CATALOGS[FALLBACK][key];
}

/**
 * The message `key` in the current language with `{name}` placeholders
 * filled from `vars` (numbers formatted for the locale). A numeric
 * `vars.count` picks a plural form when the catalog has `key.one`,
 * `key.other` (Intl.PluralRules categories). A missing key shows as itself.
 * @param {string} key
 * @param {Vars} [vars]
 * @returns {string}
 */
export function t(key, vars) {
  let message;
  if (typeof vars?.count === "number") {
    const category = pluralCategory(vars.count);
    message = lookup(`${key}.${category}`) ?? lookup(`${key}.other`);
  }
  message ??= lookup(key) ?? key;
  if (!vars) return message;
  return message.replace(/\{(\w+)\}/gu, (whole, name) => {
    if (!Object.hasOwn(vars, name)) return whole;
    const value = vars[name];
    return typeof value === "number" ? formatNumber(value) : String(value);
  });
}

/**
 * The message for a server error code (docs/protocol.md, *Error codes*; REST
 * `{"error": {"code"}}`): `error.<code>` of the catalog, else `fallback`
 * (usually the server's English message), else a generic message. On an
 * English page the server's message is kept for codes whose message says why
 * (`invalid_action`, `forbidden`, …).
 * @param {string | null | undefined} code
 * @param {string} [fallback]
 * @param {Vars} [vars] e.g. `{seconds}` for `rate_limited`
 * @returns {string}
 */
export function errorText(code, fallback, vars) {
  // The server's English message says why for these codes (which poll rule,
  // which field): an English page keeps it; other languages get the catalog's.
  if (current === FALLBACK && fallback && code && DETAILED.has(code)) return fallback;
  if (code && hasKey(`error.${code}`)) return t(`error.${code}`, vars);
  return fallback || t("error.unknown");
}

/** Error codes whose server message carries the reason (docs/protocol.md: "the message says why"). */
const DETAILED = new Set(["invalid_action", "forbidden", "invalid_payload", "invalid_request", "invalid_token"]);

/** @type {Map<string, unknown>} the Intl objects made so far (see {@link intl}) */
const formatters = new Map();

/**
 * An Intl formatter for {@link locale}, or for the bare language if the
 * browser's tag is one Intl refuses (a RangeError must not break a page).
 * Kept per locale and `key` (the kind and options): making one costs far
 * more than using it.
 * @template T
 * @param {string} key
 * @param {(tag: string) => T} make
 * @returns {T}
 */
function intl(key, make) {
  const tag = locale();
  const cacheKey = `${tag}\0${key}`;
  let made = formatters.get(cacheKey);
  if (made === undefined) {
    try {
      made = make(tag);
    } catch {
      made = make(current);
    }
    formatters.set(cacheKey, made);
  }
  return /** @type {T} */ (made);
}

/**
 * Catalog languages whose whole numbers 0-999 are plain ASCII digits in every
 * regional locale (no grouping, Latin digits), and whose plural rule for a
 * whole number is "one" for 1, else "other" (CLDR: `one: i = 1 and v = 0`).
 * For those, {@link t} needs no Intl object at all: the first one a page
 * makes loads the browser's locale data, 20-40 ms of the page's thread
 * while it joins (issue 21). A language added later is not in here until
 * checked (tests/e2e/test_catalogs.py compares with Intl).
 */
const PLAIN_NUMBERS = new Set(["en", "de"]);

/** @returns {boolean} whether {@link PLAIN_NUMBERS} applies now (no Unicode extension in the tag, e.g. `-u-nu-arab`) */
function plainNumbers() {
  return PLAIN_NUMBERS.has(current) && !locale().toLowerCase().includes("-u-");
}

/**
 * The plural category of `count` for the current language.
 * @param {number} count
 * @returns {string}
 */
function pluralCategory(count) {
  if (Number.isInteger(count) && count >= 0 && plainNumbers()) return count === 1 ? "one" : "other";
  return intl("plural", (tag) => new Intl.PluralRules(tag)).select(count);
}

/** @param {Date | number | string} value */
function toDate(value) {
  return value instanceof Date ? value : new Date(value);
}

/**
 * A number for the locale ("1.234,5" in German).
 * @param {number} value
 * @param {Intl.NumberFormatOptions} [options]
 */
export function formatNumber(value, options) {
  if (options === undefined && Number.isInteger(value) && value >= 0 && value < 1000 && !Object.is(value, -0) && plainNumbers()) {
    return String(value);
  }
  return intl(`number ${JSON.stringify(options ?? {})}`, (tag) => new Intl.NumberFormat(tag, options)).format(value);
}

/**
 * A date and time for the locale ("6. Dez. 2026, 14:05").
 * @param {Date | number | string} value a Date, epoch milliseconds or an ISO string
 * @param {Intl.DateTimeFormatOptions} [options]
 */
export function formatDateTime(value, options = { dateStyle: "medium", timeStyle: "short" }) {
  return intl(`date ${JSON.stringify(options)}`, (tag) => new Intl.DateTimeFormat(tag, options)).format(toDate(value));
}

/**
 * A date for the locale ("06.12.2026").
 * @param {Date | number | string} value
 * @param {Intl.DateTimeFormatOptions} [options]
 */
export function formatDate(value, options = { dateStyle: "medium" }) {
  return intl(`date ${JSON.stringify(options)}`, (tag) => new Intl.DateTimeFormat(tag, options)).format(toDate(value));
}

/**
 * A time of day for the locale ("14:05", "2:05 PM").
 * @param {Date | number | string} value
 * @param {Intl.DateTimeFormatOptions} [options]
 */
export function formatTime(value, options = { timeStyle: "short" }) {
  return intl(`date ${JSON.stringify(options)}`, (tag) => new Intl.DateTimeFormat(tag, options)).format(toDate(value));
}

/**
 * Translate static HTML: each element under `root` with `data-i18n="key"`
 * gets that message as its text, `data-i18n-aria-label` (`-title`,
 * `-placeholder`, `-alt`) that attribute; `data-i18n-vars` (JSON) fills
 * placeholders. Also sets `<html lang>`. Pages call it once on load;
 * {@link setLanguage} calls it again.
 * @param {ParentNode} root
 */
export function translate(root) {
  if (root === document || root === document.documentElement) document.documentElement.lang = current;
  const selector = ["[data-i18n]", ...ATTRIBUTES.map((name) => `[data-i18n-${name}]`)].join(",");
  for (const el of root.querySelectorAll(selector)) {
    if (!(el instanceof HTMLElement)) continue;
    let vars;
    try {
      vars = el.dataset.i18nVars ? JSON.parse(el.dataset.i18nVars) : undefined;
    } catch {
      vars = undefined;
    }
    // Only what differs is written: the page's HTML is in English already,
    // and every write invalidates style (a page joining from its link does
    // this before it connects).
    if (el.dataset.i18n) {
      const text = t(el.dataset.i18n, vars);
      if (el.textContent !== text) el.textContent = text;
    }
    for (const name of ATTRIBUTES) {
      const key = el.getAttribute(`data-i18n-${name}`);
      if (!key) continue;
      const text = t(key, vars);
      if (el.getAttribute(name) !== text) el.setAttribute(name, text);
    }
  }
}

/**
 * Set an element's text from the catalog and remember the key, so a later
 * language switch translates it again without the view re-rendering.
 * @template {HTMLElement} E
 * @param {E} el
 * @param {string} key
 * @param {Vars} [vars]
 * @returns {E}
 */
export function setText(el, key, vars) {
  el.dataset.i18n = key;
  if (vars) el.dataset.i18nVars = JSON.stringify(vars);
  else delete el.dataset.i18nVars;
  el.textContent = t(key, vars);
  return el;
}

/**
 * Set an attribute (`aria-label`, `title`, `placeholder`, `alt`) from the
 * catalog and remember the key, like {@link setText}.
 * @template {HTMLElement} E
 * @param {E} el
 * @param {"aria-label" | "title" | "placeholder" | "alt"} name
 * @param {string} key
 * @param {Vars} [vars]
 * @returns {E}
 */
export function setAttr(el, name, key, vars) {
  el.setAttribute(`data-i18n-${name}`, key);
  if (vars) el.dataset.i18nVars = JSON.stringify(vars);
  el.setAttribute(name, t(key, vars));
  return el;
}
