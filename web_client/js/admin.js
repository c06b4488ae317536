// Entry point of admin.html (GET /admin): an admin pastes an admin API key
// (kept in sessionStorage only, never in the address), then lists, downloads
// and deletes recordings and reads their transcripts. The list refreshes every
// 2 s while a recording is being recorded, its composite rendered or its
// transcript made.

import { AdminApi, AdminApiError, KEY_STORAGE, adminErrorText, formatBytes, isChanging } from "./admin_api.js";
import { LANGUAGE_CHANGED, events, t, translate } from "./i18n.js";
import { recordingTitle, renderRecordings } from "./ui/admin_recordings.js";
import { ShareAdminApi } from "./share_admin_api.js";
import { confirmDialog } from "./ui/kit.js";
import { h } from "./ui/dom.js";
import { languageSwitch } from "./ui/language_switch.js";

/** @typedef {import("./admin_api.js").Recording} Recording */
/** @typedef {import("./admin_api.js").RecordingFile} RecordingFile */

/** Refresh interval while something is recording or processing. */
const POLL_MS = 2000;
/** Retry interval after a network error. */
const RETRY_MS = 5000;

/**
 * @template {HTMLElement} T
 * @param {string} selector
 * @returns {T}
 */
function $(selector) {
  const el = document.querySelector(selector);
  if (!el) throw new Error(`admin.html lacks ${selector}`);
  return /** @type {T} */ (el);
}

/**
 * How the page names the key without showing it.
 * @param {string} key
 */
export function keyHint(key) {
  const prefix = /^ck_[0-9a-f]+_/.exec(key);
  if (prefix) return `${prefix[0]}…`;
  return `…${key.slice(-4)}`;
}

/**
 * Save a Blob as a file through a temporary object URL.
 * @param {Blob} blob
 * @param {string} filename
 */
function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

class AdminPage {
  constructor() {
    this.form = /** @type {HTMLFormElement} */ ($("#key-form"));
    this.input = /** @type {HTMLInputElement} */ ($('[data-testid="admin-key-input"]'));
    this.saveButton = /** @type {HTMLButtonElement} */ ($('[data-testid="admin-key-save-button"]'));
    this.session = $("#session");
    this.keyHint = $("#key-hint");
    this.error = $('[data-testid="admin-error"]');
    this.status = $('[data-testid="admin-status"]');
    this.listSection = $("#list");
    this.list = $("#recordings");
    this.empty = $("#empty");
    this.summary = $("#summary");
    /** @type {AdminApi | null} */
    this.api = null;
    /** Bumped whenever the key changes: answers of an older key are dropped. */
    this.generation = 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
    this.loading = false;
    /** A load was asked for while one was running: run it after. */
    this.loadAgain = false;
    /** @type {Recording[]} what the list shows, drawn again in a newly chosen language */
    this.shown = [];
    $(".admin-header").append(languageSwitch("admin-language"));
    events.addEventListener(LANGUAGE_CHANGED, () => this.show(this.shown));

    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.useKey(this.input.value.trim(), false);
    });
    $('[data-testid="admin-key-forget-button"]').addEventListener("click", () => this.forget());
    $("#refresh-button").addEventListener("click", () => void this.load());

    let stored = null;
    try {
      stored = sessionStorage.getItem(KEY_STORAGE);
    } catch {
      // storage blocked: the key must be pasted each time
    }
    if (stored) void this.useKey(stored, true);
    else this.input.focus();
  }

  /** @param {string} text */
  showError(text) {
    this.error.textContent = text;
    this.error.hidden = !text;
  }

  /** @param {string} text */
  announce(text) {
    this.status.textContent = text;
  }

  /** @param {boolean} signedIn */
  showSignedIn(signedIn) {
    this.form.hidden = signedIn;
    this.session.hidden = !signedIn;
    this.listSection.hidden = !signedIn;
  }

  /**
   * Check a key by listing the recordings; keep it (this tab only) if it works.
   * @param {string} key
   * @param {boolean} stored it came from sessionStorage
   */
  async useKey(key, stored) {
    if (!key) {
      this.showError(t("admin.paste_first"));
      this.input.focus();
      return;
    }
    this.stopPolling();
    const generation = ++this.generation;
    this.api = new AdminApi(key);
    this.saveButton.disabled = true;
    this.saveButton.setAttribute("aria-busy", "true");
    try {
      const recordings = await this.api.list();
      if (generation !== this.generation) return;
      try {
        sessionStorage.setItem(KEY_STORAGE, key);
      } catch {
        // storage blocked: works until the page is left
      }
      this.input.value = "";
      this.keyHint.textContent = keyHint(key);
      this.showSignedIn(true);
      this.showError("");
      this.show(recordings);
      if (!stored) this.announce(t("admin.key_accepted", { count: recordings.length }));
    } catch (error) {
      if (generation !== this.generation) return;
      if (error instanceof AdminApiError && error.badKey) {
        this.api = null;
        this.generation++;
        if (stored) sessionStorage.removeItem(KEY_STORAGE);
        this.showSignedIn(false);
        this.input.focus();
        this.input.select();
      } else {
        // Network or server trouble: the key may be fine; keep it and try again.
        this.keyHint.textContent = keyHint(key);
        this.showSignedIn(true);
        this.schedule(RETRY_MS);
      }
      this.showError(adminErrorText(error));
    } finally {
      this.saveButton.disabled = false;
      this.saveButton.removeAttribute("aria-busy");
    }
  }

  forget() {
    this.stopPolling();
    this.loadAgain = false;
    this.generation++;
    this.api = null;
    try {
      sessionStorage.removeItem(KEY_STORAGE);
    } catch {
      // nothing stored
    }
    // Through the list (not just emptied): cards and transcripts read with the key go with it.
    this.show([]);
    this.summary.textContent = "";
    this.showSignedIn(false);
    this.showError("");
    this.announce(t("admin.key_forgotten"));
    this.input.focus();
  }

  stopPolling() {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** @param {number} ms */
  schedule(ms) {
    this.stopPolling();
    this.timer = setTimeout(() => void this.load(), ms);
  }

  /** Fetch the list again (polling, Refresh, after a delete). */
  async load() {
    const api = this.api;
    if (!api) return;
    if (this.loading) {
      this.loadAgain = true;
      return;
    }
    this.stopPolling();
    const generation = this.generation;
    this.loading = true;
    try {
      const recordings = await api.list();
      if (generation !== this.generation) return;
      try {
        sessionStorage.setItem(KEY_STORAGE, api.key);
      } catch {
        // storage blocked
      }
      this.showError("");
      this.show(recordings);
    } catch (error) {
      if (generation !== this.generation) return;
      this.fail(error);
      if (!(error instanceof AdminApiError && error.badKey)) this.schedule(RETRY_MS);
    } finally {
      this.loading = false;
    }
    if (this.loadAgain) {
      this.loadAgain = false;
      await this.load();
    }
  }

  /**
   * A request failed: a key that stopped working (revoked) is dropped.
   * @param {unknown} error
   */
  fail(error) {
    if (error instanceof AdminApiError && error.badKey) {
      const text = adminErrorText(error);
      this.forget();
      this.showError(text);
      return;
    }
    this.showError(adminErrorText(error));
  }

  /** @param {Recording[]} recordings */
  show(recordings) {
    this.shown = recordings;
    renderRecordings(this.list, recordings, {
      download: (recording, file, button) => void this.download(recording, file, button),
      remove: (recording, button) => void this.remove(recording, button),
      transcript: (recording) => this.transcript(recording),
      shares: this.api ? new ShareAdminApi(this.api) : null,
    });
    this.empty.hidden = recordings.length > 0;
    const total = recordings.reduce((sum, r) => sum + (r.size || 0), 0);
    this.summary.textContent = recordings.length
      ? `${recordings.length} · ${formatBytes(total)}`
      : "";
    if (recordings.some(isChanging)) this.schedule(POLL_MS);
  }

  /**
   * A recording's transcript lines (a key that stopped working is dropped).
   * @param {Recording} recording
   */
  async transcript(recording) {
    const api = this.api;
    if (!api) throw new AdminApiError(401, "unauthorized", "no key");
    try {
      return await api.transcript(recording.id);
    } catch (error) {
      if (error instanceof AdminApiError && error.badKey) this.fail(error);
      throw error;
    }
  }

  /**
   * @param {Recording} recording
   * @param {RecordingFile} file
   * @param {HTMLButtonElement} button
   */
  async download(recording, file, button) {
    const api = this.api;
    if (!api || button.disabled) return;
    const label = button.textContent ?? t("admin.download");
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    button.textContent = t("admin.downloading");
    try {
      const blob = await api.download(recording.id, file.name, (received, total) => {
        const size = total ?? file.size;
        if (size > 0) button.textContent = t("admin.downloading_percent", { percent: Math.floor((received / size) * 100) });
      });
      saveBlob(blob, file.name);
      this.announce(t("admin.downloaded", { name: file.name }));
    } catch (error) {
      this.fail(error);
    } finally {
      button.disabled = false;
      button.removeAttribute("aria-busy");
      button.textContent = label;
    }
  }

  /**
   * @param {Recording} recording
   * @param {HTMLButtonElement} button
   */
  async remove(recording, button) {
    const title = recordingTitle(recording);
    const yes = await confirmDialog({
      title: t("admin.delete_confirm_title"),
      message: t("admin.delete_confirm_text", { title, size: formatBytes(recording.size) }),
      confirmLabel: t("common.delete"),
      danger: true,
    });
    const api = this.api;
    if (!yes || !api) {
      button.focus();
      return;
    }
    button.disabled = true;
    try {
      await api.remove(recording.id);
      this.announce(t("admin.deleted", { title }));
      this.showError("");
    } catch (error) {
      if (!(error instanceof AdminApiError && error.status === 404)) this.fail(error);
      button.disabled = false;
    }
    await this.load();
    /** @type {HTMLElement | null} */ (this.list.querySelector('[data-testid="recording-delete-button"]:not(:disabled)'))?.focus();
  }
}

translate(document);
new AdminPage();
