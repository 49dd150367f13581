/*
 * Shared by the staff pages' scripts (editor.js, admin.js, admin_privacy.js; loaded before
 * them): building elements without HTML strings, and calling the page's JSON API with the
 * session cookie and the CSRF token from <meta name="csrf-token">, and confirming in the page's
 * dialog. Exposes window.StaffPage.
 * (widget.js stays self-contained: it is embedded on the utility's own website.)
 */
(() => {
  'use strict';

  /** Build an element. Strings among the children become text nodes (Element.append), never HTML. */
  function h(tag, attrs = {}, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : v);
    }
    el.append(...children.filter((c) => c != null));
    return el;
  }

  /** A failed API call: HTTP status (0: no connection), German detail, per-field problems. */
  class HttpError extends Error {
    constructor(status, body) {
      super(`HTTP ${status}`);
      this.status = status;
      this.detail = body?.detail;
      this.problems = Array.isArray(body?.problems) ? body.problems : [];
    }
  }

  /**
   * A client of the JSON API under `base`: request(method, path, body) resolves to
   * { data, headers } and rejects with HttpError. `onLoggedOut` runs on a 401 (session ended).
   */
  function apiClient(base, onLoggedOut) {
    const csrf = document.querySelector('meta[name="csrf-token"]')?.content || '';
    return async function request(method, path, body) {
      const headers = { Accept: 'application/json', 'X-CSRF-Token': csrf };
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      let res;
      try {
        res = await fetch(base + path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
      } catch {
        throw new HttpError(0, { detail: 'Der Server ist gerade nicht erreichbar. Bitte versuchen Sie es gleich noch einmal.' });
      }
      if (res.status === 401) onLoggedOut();
      if (!res.ok) {
        let data = null;
        try { data = await res.json(); } catch { /* not JSON */ }
        throw new HttpError(res.status, data);
      }
      return { data: res.status === 204 ? null : await res.json().catch(() => null), headers: res.headers };
    };
  }

  /**
   * Ask in the page's own <dialog id="confirm-dialog"> (with confirm-form, confirm-text,
   * confirm-ok, confirm-cancel; Escape cancels). Resolves true when confirmed. `okLabel`
   * replaces the confirm button's text when given.
   */
  function confirmAction(text, okLabel) {
    const $ = (id) => document.getElementById(id);
    return new Promise((resolve) => {
      const dialog = $('confirm-dialog');
      $('confirm-text').textContent = text;
      if (okLabel) $('confirm-ok').textContent = okLabel;
      const done = (value) => {
        dialog.removeEventListener('close', onClose);
        $('confirm-form').onsubmit = null;
        $('confirm-cancel').onclick = null;
        if (dialog.open) dialog.close();
        resolve(value);
      };
      const onClose = () => done(false);
      dialog.addEventListener('close', onClose);
      $('confirm-form').onsubmit = (ev) => { ev.preventDefault(); done(true); };
      $('confirm-cancel').onclick = () => done(false);
      dialog.showModal();
      $('confirm-cancel').focus();
    });
  }

  window.StaffPage = Object.freeze({ h, HttpError, apiClient, confirmAction });
})();
