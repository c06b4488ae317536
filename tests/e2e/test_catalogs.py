"""The message catalogs of the browser client (issue 19): web_client/locales/
holds one flat JSON object per language. Every catalog has every key the
others have, with the same ``{placeholders}``; every key the pages use
(``t("…")`` and friends in the JavaScript, ``data-i18n`` in the HTML) is in
the catalogs; every error code of docs/protocol.md and docs/rest-api.md has a
translated message; and every catalog file is one the client bundles.

No browser: this reads the files (the e2e tests show the pages speaking)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from node_script import node_json

ROOT = Path(__file__).resolve().parents[2]
WEB_CLIENT = ROOT / "web_client"
LOCALES = WEB_CLIENT / "locales"
PLURAL = (".zero", ".one", ".two", ".few", ".many", ".other")

#: Where the code names a catalog key as a literal: t("key"), setText(el, "key"),
#: setAttr(el, "title", "key"), errorText("code"…) is not a key; h() attributes
#: `i18n: "key"` and `"i18n-aria-label": "key"`; `{ key: "key" }` labels.
JS_KEY_PATTERNS = [
    re.compile(r"""\bt\(\s*["']([a-z_][\w.]*)["']"""),
    re.compile(r"""\bsetText\([^,()]+,\s*["']([a-z_][\w.]*)["']"""),
    re.compile(r"""\bsetAttr\([^,()]+,\s*["'][\w-]+["'],\s*["']([a-z_][\w.]*)["']"""),
    re.compile(r"""\bi18n(?:-[\w-]+)?["']?\s*:\s*["']([a-z_][\w.]*)["']"""),
    re.compile(r"""\{\s*key:\s*["']([a-z_][\w.]*)["']\s*\}"""),
]
HTML_KEY = re.compile(r"""\bdata-i18n(?:-[\w-]+)?="([^"]+)\"""")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def catalogs() -> dict[str, dict[str, str]]:
    found = {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(LOCALES.glob("*.json"))
    }
    assert {"en", "de"} <= set(found), "English and German catalogs are required"
    return found


def used_keys() -> dict[str, set[str]]:
    """Each catalog key named literally in the client's sources, with the files naming it."""
    used: dict[str, set[str]] = {}
    for path in sorted((WEB_CLIENT / "js").rglob("*.js")):
        source = path.read_text(encoding="utf-8")
        for pattern in JS_KEY_PATTERNS:
            for key in pattern.findall(source):
                used.setdefault(key, set()).add(path.relative_to(WEB_CLIENT).as_posix())
    for path in sorted(WEB_CLIENT.glob("*.html")):
        for key in HTML_KEY.findall(path.read_text(encoding="utf-8")):
            used.setdefault(key, set()).add(path.name)
    return used


def has(catalog: dict[str, str], key: str) -> bool:
    """A key, or the plural forms of one (``key.one``, ``key.other``)."""
    return key in catalog or f"{key}.other" in catalog


def test_every_catalog_has_every_key_of_the_others() -> None:
    found = catalogs()
    every = set().union(*(set(catalog) for catalog in found.values()))
    missing = {
        lang: sorted(every - set(catalog))
        for lang, catalog in found.items()
        if every - set(catalog)
    }
    assert not missing, f"keys missing from catalogs: {missing}"


def test_catalogs_are_flat_non_empty_strings() -> None:
    for lang, catalog in catalogs().items():
        bad = [
            key for key, value in catalog.items() if not isinstance(value, str) or not value.strip()
        ]
        assert not bad, f"{lang}: keys without a text: {bad}"
        assert all(re.fullmatch(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+", key) for key in catalog), lang
        assert catalog["language.name"], f"{lang} names itself in language.name"


def test_translations_keep_the_placeholders() -> None:
    found = catalogs()
    english = found["en"]
    for lang, catalog in found.items():
        for key, text in catalog.items():
            if key in english:
                assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(english[key])), (
                    f"{lang}: {key}"
                )


def test_every_key_the_pages_use_is_in_the_catalogs() -> None:
    found = catalogs()
    used = used_keys()
    assert len(used) > 300, "the scan found the keys"  # guards the patterns themselves
    for lang, catalog in found.items():
        missing = {key: sorted(files) for key, files in used.items() if not has(catalog, key)}
        assert not missing, f"{lang}: keys used but not in the catalog: {missing}"


def test_the_scan_would_catch_a_missing_key(tmp_path: Path) -> None:
    """The check above fails for a key the code uses and a catalog lacks."""
    catalog = catalogs()["de"]
    assert has(catalog, "chat.send")
    assert not has({k: v for k, v in catalog.items() if k != "chat.send"}, "chat.send")
    source = (
        'h("button", { i18n: "chat.send" }); t("hands.raise");'
        ' setText(el, "room.participant_count", {count})'
    )
    keys = {key for pattern in JS_KEY_PATTERNS for key in pattern.findall(source)}
    assert keys == {"chat.send", "hands.raise", "room.participant_count"}


def error_codes() -> set[str]:
    """The stable error codes of the Socket.IO protocol and of the REST API."""
    protocol = (ROOT / "docs/protocol.md").read_text(encoding="utf-8")
    section = protocol[protocol.index("## Error codes") :]
    section = section[: section.find("\n## ", 1) if "\n## " in section[1:] else len(section)]
    codes = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            codes.update(re.findall(r"`([a-z_]+)`", line.split("|")[1]))
    rest = (ROOT / "docs/rest-api.md").read_text(encoding="utf-8")
    table = rest[rest.index("### Errors") :]
    table = table[: table.index("\n### ", 1)]
    for line in table.splitlines():
        cells = line.split("|")
        if len(cells) > 3 and cells[2].strip().startswith("`"):
            codes.update(re.findall(r"`([a-z_]+)`", cells[2]))
    return codes


def test_every_server_error_code_has_a_translated_message() -> None:
    codes = error_codes()
    assert {"wrong_passcode", "meeting_locked", "invalid_room", "too_many_meetings"} <= codes
    for lang, catalog in catalogs().items():
        missing = sorted(code for code in codes if f"error.{code}" not in catalog)
        assert not missing, f"{lang}: error codes without a message: {missing}"


def test_every_catalog_is_bundled() -> None:
    """A new locales/<code>.json is named in CATALOGS of js/i18n.js (else it is never shipped)."""
    source = (WEB_CLIENT / "js/i18n.js").read_text(encoding="utf-8")
    imported = set(re.findall(r'''import (\w+) from "\.\./locales/(\w+)\.json"''', source))
    assert {(lang, lang) for lang in catalogs()} <= imported
    listed = re.search(r"export const CATALOGS = \{([^}]*)\}", source)
    assert listed is not None
    assert {name.strip() for name in listed.group(1).split(",")} == set(catalogs())


@pytest.mark.parametrize("lang", ["de"])
def test_german_is_formal(lang: str) -> None:
    """The product speaks to customers with "Sie": no informal "du" forms."""
    informal = re.compile(
        r"\b(du|dich|dir|dein|deine|deinen|deinem|deiner|euch|euer|eure)\b", re.IGNORECASE
    )
    catalog = catalogs()[lang]
    found = {key: text for key, text in catalog.items() if informal.search(text)}
    assert not found, found


I18N_SCRIPT = """
import * as i18n from "./js/i18n.js";
const out = {
  pick: [
    i18n.pickLanguage(["de-AT", "en"]),
    i18n.pickLanguage(["fr-FR", "en-GB"]),
    i18n.pickLanguage([]),
  ],
  one: i18n.t("room.participant_count", { count: 1 }),
  missing: i18n.t("no.such.key"),
  unknownCode: i18n.errorText("no_such_code", "the server's words"),
};
i18n.setLanguage("de");
Object.assign(out, {
  language: i18n.language(),
  deOne: i18n.t("room.participant_count", { count: 1 }),
  deMany: i18n.t("room.participant_count", { count: 1234 }),
  deError: i18n.errorText("meeting_locked", "meeting is locked"),
  deNumber: i18n.formatNumber(1234.5),
  deDate: i18n.formatDateTime(Date.UTC(2026, 2, 5, 13, 7), { dateStyle: "long", timeZone: "UTC" }),
});
i18n.setLanguage("xx");
out.afterUnknown = i18n.language();
console.log(JSON.stringify(out));
"""


def test_the_i18n_module_picks_formats_and_maps_codes() -> None:
    """js/i18n.js itself, in Node (DOM-free): the browser's languages pick a
    catalog (de-AT is German, French falls back to English), plurals and
    numbers follow the language, error codes map to the catalog, and an
    unknown language or key changes nothing / shows the key."""
    out = node_json(I18N_SCRIPT, WEB_CLIENT)
    assert out["pick"] == ["de", "en", "en"]
    assert out["one"] == "1 participant"
    assert out["missing"] == "no.such.key"
    assert out["unknownCode"] == "the server's words"
    assert out["language"] == "de"
    assert out["deOne"] == "1 teilnehmende Person"
    assert out["deMany"] == "1.234 Teilnehmende"
    assert out["deError"] == "Die Besprechung ist gesperrt. Niemand kann mehr beitreten."
    assert out["deNumber"] == "1.234,5"
    assert out["deDate"] == "5. März 2026"
    assert out["afterUnknown"] == "de"


PLAIN_NUMBERS_SCRIPT = """
const tags = ["en", "en-US", "en-GB", "en-IN", "en-CA", "de", "de-DE", "de-AT", "de-CH", "de-LI"];
// (Node 21 and later have a navigator of their own, read-only.)
const setLanguages = (languages) => Object.defineProperty(globalThis, "navigator", {
  value: { languages }, configurable: true, writable: true,
});
const i18n = await import("./js/i18n.js");
const out = { wrong: [], extension: null };
for (const tag of tags) {
  setLanguages([tag]);
  i18n.setLanguage(tag.split("-")[0]);
  const numbers = new Intl.NumberFormat(tag);
  const plurals = new Intl.PluralRules(tag);
  const catalog = i18n.CATALOGS[i18n.language()];
  for (let n = 0; n <= 1200; n += 1) {
    if (i18n.formatNumber(n) !== numbers.format(n)) out.wrong.push([tag, n, i18n.formatNumber(n)]);
    const key = "room.participant_count";
    const message = catalog[`${key}.${plurals.select(n)}`] ?? catalog[`${key}.other`];
    const expected = message.replace("{count}", numbers.format(n));
    const got = i18n.t(key, { count: n });
    if (got !== expected) out.wrong.push([tag, n, got, expected]);
  }
  for (const n of [-1, -0, 1.5, 0.25, 1234567]) {
    if (i18n.formatNumber(n) !== numbers.format(n)) out.wrong.push([tag, n, i18n.formatNumber(n)]);
  }
}
setLanguages(["en-u-nu-arab"]);
i18n.setLanguage("en");
out.extension = [i18n.formatNumber(7), new Intl.NumberFormat("en-u-nu-arab").format(7)];
console.log(JSON.stringify(out));
"""


def test_small_numbers_and_plurals_need_no_intl_object_and_say_the_same() -> None:
    """js/i18n.js writes whole numbers 0-999 and picks the plural form of a
    whole count without making an Intl object for English and German (the
    first one a page makes costs it 20-40 ms while it joins, issue 21): the
    result is Intl's own for every regional locale of those languages, and a
    tag that asks for other digits (``-u-nu-…``) still goes through Intl."""
    out = node_json(PLAIN_NUMBERS_SCRIPT, WEB_CLIENT)
    assert out["wrong"] == []
    assert out["extension"][0] == out["extension"][1] != "7"
