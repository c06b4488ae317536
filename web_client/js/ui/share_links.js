// The share links part of an admin page recording card (and of a recording
// in the host's "Recordings of this meeting"): a recording with a
// video can be shared with a password for a while (docs/rest-api.md,
// "Recording share links"). Opened on demand: the links (their note, state,
// expiry and address to copy, a Revoke button while active) and a form for
// a new one. The password is typed here and sent once; the server keeps
// only its hash, so it cannot be shown again.

import { formatDateTime, t } from "../i18n.js";
import { h } from "./dom.js";
import { smallButton } from "./kit.js";
import { AdminApiError, adminErrorText } from "../admin_api.js";
import { HostShareApi } from "../share_admin_api.js";

/** @typedef {Pick<import("../admin_api.js").Recording, "id" | "composite">} Recording */
/** @typedef {import("../share_admin_api.js").ShareAdminApi | import("../share_admin_api.js").HostShareApi} ShareApi */
/** @typedef {import("../share_admin_api.js").RecordingShare} RecordingShare */

/** How long a new link lives: the form's choices, in days. */
const LIFETIMES = [1, 7, 30, 90];

/**
 * The card's share links section; null for a recording without a video.
 * @param {Recording} recording
 * @param {string} title
 * @param {ShareApi | null} api
 * @param {(error: unknown) => string} [describe] what a failure says (the admin page's words by default)
 * @returns {HTMLElement | null}
 */
export function sharesSection(recording, title, api, describe = adminErrorText) {
  if (!api || recording.composite?.state !== "ready") return null;
  const list = h("ul.admin-shares", { "data-testid": "share-list", "aria-label": t("adminshares.list_of", { title }) });
  const error = h("p.admin-error", { role: "alert", "data-testid": "share-admin-error", hidden: true });
  const section = h(
    "section.admin-transcript-section",
    { "data-testid": "share-section" },
    h("div.admin-transcript-head", {}, h("h4", { text: t("adminshares.heading") })),
  );

  /** @param {unknown} failure */
  const fail = (failure) => {
    error.textContent = describe(failure);
    error.hidden = false;
  };

  const refresh = async () => {
    try {
      const listing = await api.list(recording.id);
      list.replaceChildren(...listing.shares.map((share) => shareItem(share)));
      error.hidden = true;
    } catch (failure) {
      fail(failure);
    }
  };

  /** @param {RecordingShare} share */
  const shareItem = (share) => {
    const address = `${location.origin}${share.url}`;
    const link = h("input.admin-share-url", {
      type: "text",
      readonly: true,
      value: address,
      "data-testid": "share-url",
      "aria-label": t("adminshares.address"),
    });
    const copy = smallButton(t("adminshares.copy"), { "data-testid": "share-copy-button" }, () => {
      /** @type {HTMLInputElement} */ (link).select();
      void navigator.clipboard?.writeText(address).catch(() => {});
    });
    const revoke =
      share.state === "active"
        ? smallButton(t("adminshares.revoke"), { class: "small danger", "data-testid": "share-revoke-button" }, async () => {
            revoke?.setAttribute("disabled", "");
            try {
              await api.revoke(recording.id, share.share_id);
              await refresh();
            } catch (failure) {
              fail(failure);
              revoke?.removeAttribute("disabled");
            }
          })
        : null;
    return h(
      "li.admin-share",
      { "data-testid": "share-item", "data-state": share.state, "data-share-id": share.share_id },
      h("span.admin-share-note", { text: share.note || t("adminshares.no_note") }),
      h("span.admin-state", { "data-testid": "share-state", text: t(`adminshares.state_${share.state}`) }),
      h("span.admin-share-expiry", {
        text: t("adminshares.expires", { time: formatDateTime(share.expires_at * 1000) }),
      }),
      link,
      copy,
      revoke,
    );
  };

  const password = h("input", {
    type: "password",
    minlength: 8,
    maxlength: 256,
    autocomplete: "new-password",
    required: true,
    "data-testid": "share-new-password",
  });
  const lifetime = h(
    "select",
    { "data-testid": "share-new-days" },
    ...LIFETIMES.map((days) => h("option", { value: days, selected: days === 7, text: t("adminshares.days", { count: days }) })),
  );
  const note = h("input", { type: "text", maxlength: 200, "data-testid": "share-new-note" });
  const create = h("button.small", { type: "submit", "data-testid": "share-create-button", text: t("adminshares.create") });
  const form = h(
    "form.admin-share-form",
    { novalidate: true },
    h("label.field", {}, h("span", { text: t("adminshares.password") }), password),
    h("label.field", {}, h("span", { text: t("adminshares.lifetime") }), lifetime),
    h("label.field", {}, h("span", { text: t("adminshares.note") }), note),
    create,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    create.setAttribute("disabled", "");
    try {
      await api.create(recording.id, {
        password: /** @type {HTMLInputElement} */ (password).value,
        expires_in: Number(/** @type {HTMLSelectElement} */ (lifetime).value) * 86400,
        ...(/** @type {HTMLInputElement} */ (note).value ? { note: /** @type {HTMLInputElement} */ (note).value } : {}),
      });
      /** @type {HTMLInputElement} */ (password).value = "";
      /** @type {HTMLInputElement} */ (note).value = "";
      await refresh();
    } catch (failure) {
      fail(failure);
    } finally {
      create.removeAttribute("disabled");
    }
  });

  const open = smallButton(t("adminshares.show"), { "data-testid": "share-show-button" }, () => {
    open.remove();
    section.append(error, list, form);
    void refresh();
  });
  section.append(open);
  return section;
}

/**
 * The share links of a recording in the host's "Recordings of this meeting"
 * (with its signed `shares_url`); null where the server gives none.
 * @param {Recording & {title?: string | null, room?: string | null, shares_url?: string}} recording
 * @returns {HTMLElement | null}
 */
export function hostSharesSection(recording) {
  if (!recording.shares_url) return null;
  const title = recording.title || recording.room || "";
  return sharesSection(recording, title, new HostShareApi(recording.shares_url), hostErrorText);
}

/** @param {unknown} error */
function hostErrorText(error) {
  // The signed address lives an hour, as the download links do.
  if (error instanceof AdminApiError && error.status === 401) return t("adminshares.host_link_expired");
  return adminErrorText(error);
}
