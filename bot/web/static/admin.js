/*
 * Admins' UI (/admin/): users, the four-eyes switch, the audit log. The page (templates/admin.html)
 * is a static skeleton; this script fills it from /api/admin/... with the session cookie and the
 * CSRF token from <meta name="csrf-token">. Text reaches the DOM only as textContent (there is no
 * Markdown on this page). Generated passwords are shown once in a dialog and never stored here.
 *
 * Stable hooks for browser tests (ids unless noted):
 *   admin-status (role=status), admin-alert (role=alert)
 *   users-body: rows data-testid="user-row" data-username, with a role select
 *     data-testid="user-role" and buttons data-testid="user-role-save", "user-reset", "user-delete"
 *   user-new → user-dialog: user-username, user-display-name, user-role, user-create, user-cancel,
 *     error-username, error-display_name, error-role, user-error
 *   password-dialog: password-user, password-value (data-testid="password-value"), password-copy,
 *     password-close
 *   four-eyes-toggle (checkbox)
 *   admin-audit-body (rows data-testid="audit-row"), admin-audit-more
 *   confirm-dialog: confirm-text, confirm-ok, confirm-cancel
 */
(() => {
  'use strict';

  const CSRF = document.querySelector('meta[name="csrf-token"]')?.content || '';
  const API = '/api/admin';
  const PAGE = 50;
  const $ = (id) => document.getElementById(id);

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

  class HttpError extends Error {
    constructor(status, body) {
      super(`HTTP ${status}`);
      this.status = status;
      this.detail = body?.detail;
      this.problems = Array.isArray(body?.problems) ? body.problems : [];
    }
  }

  let stopped = false;
  async function api(method, path, body) {
    const headers = { Accept: 'application/json', 'X-CSRF-Token': CSRF };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(API + path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
    } catch {
      throw new HttpError(0, { detail: 'Der Server ist gerade nicht erreichbar. Bitte versuchen Sie es gleich noch einmal.' });
    }
    if (res.status === 401) loggedOut();
    if (!res.ok) {
      let data = null;
      try { data = await res.json(); } catch { /* not JSON */ }
      throw new HttpError(res.status, data);
    }
    return res.status === 204 ? null : res.json().catch(() => null);
  }

  const dateTime = new Intl.DateTimeFormat('de-DE', { dateStyle: 'medium', timeStyle: 'short' });
  const when = (iso) => (iso ? dateTime.format(new Date(iso)) : '–');
  const errorText = (e, fallback) => (typeof e?.detail === 'string' && e.detail) || fallback || 'Das hat leider nicht geklappt.';

  const ui = { status: $('admin-status'), alert: $('admin-alert'), users: $('users-body'), fourEyes: $('four-eyes-toggle') };
  const S = { me: null, roles: {}, auditOffset: 0 };

  function status(text) {
    ui.status.textContent = '';
    window.setTimeout(() => { ui.status.textContent = text; }, 30);
  }
  function showAlert(text, action) {
    ui.alert.replaceChildren(h('p', { text }), action ? h('p', {}, action) : null);
    ui.alert.hidden = false;
  }
  function clearAlert() { ui.alert.hidden = true; ui.alert.replaceChildren(); }
  function loggedOut() {
    if (stopped) return;
    stopped = true;
    showAlert('Ihre Anmeldung ist abgelaufen. Bitte melden Sie sich erneut an.', h('a', { href: '/agent/login', text: 'Zur Anmeldung' }));
  }

  function confirmAction(text, okLabel) {
    return new Promise((resolve) => {
      const dialog = $('confirm-dialog');
      $('confirm-text').textContent = text;
      $('confirm-ok').textContent = okLabel;
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

  // ---- users ------------------------------------------------------------------------------------

  async function loadUsers() {
    try {
      const data = await api('GET', '/users');
      S.roles = data.roles;
      S.me = data.me;
      ui.users.replaceChildren(...data.users.map(renderUser));
    } catch (e) { if (e.status !== 401) showAlert(errorText(e, 'Die Benutzer konnten nicht geladen werden.')); }
  }

  function renderUser(u) {
    const self = u.id === S.me;
    const selectId = `role-${u.id}`;
    const select = h('select', { id: selectId, 'data-testid': 'user-role', disabled: self },
      ...Object.entries(S.roles).map(([value, label]) => h('option', { value, text: label, selected: value === u.role })));
    const actions = [
      h('button', { type: 'button', class: 'btn btn--ghost btn--small', 'data-testid': 'user-role-save', disabled: self,
        'aria-label': `Rolle von ${u.username} speichern`, text: 'Rolle speichern', onclick: () => changeRole(u, select.value) }),
      h('button', { type: 'button', class: 'btn btn--ghost btn--small', 'data-testid': 'user-reset',
        'aria-label': `Passwort von ${u.username} zurücksetzen`, text: 'Passwort zurücksetzen', onclick: () => resetPassword(u) }),
    ];
    if (!self) {
      actions.push(h('button', { type: 'button', class: 'btn btn--danger btn--small', 'data-testid': 'user-delete',
        'aria-label': `${u.username} löschen`, text: 'Löschen', onclick: () => deleteUser(u) }));
    }
    return h('tr', { 'data-testid': 'user-row', 'data-username': u.username },
      h('td', { text: self ? `${u.username} (Sie)` : u.username }), h('td', { text: u.display_name }),
      h('td', {}, h('label', { class: 'sr-only', for: selectId, text: `Rolle von ${u.username}` }), select),
      h('td', { text: when(u.created_at) }), h('td', {}, h('div', { class: 'row-actions' }, ...actions)));
  }

  async function changeRole(u, role) {
    clearAlert();
    if (role === u.role) { status(`${u.username} hat diese Rolle schon.`); return; }
    try {
      const res = await api('PATCH', `/users/${u.id}`, { role });
      status(`${res.user.username} hat jetzt die Rolle „${res.user.role_label}“.`);
    } catch (e) { if (e.status !== 401) showAlert(errorText(e, 'Die Rolle konnte nicht geändert werden.')); }
    loadUsers();
    loadAudit(true);
  }

  function showPassword(username, password) {
    $('password-user').textContent = username;
    $('password-value').value = password;
    $('password-copied').textContent = '';
    $('password-dialog').showModal();
    $('password-value').focus();
    $('password-value').select();
  }

  async function resetPassword(u) {
    if (!await confirmAction(`Ein neues Passwort für ${u.username} erzeugen? Das bisherige gilt dann nicht mehr.`, 'Neues Passwort')) return;
    clearAlert();
    try {
      const res = await api('POST', `/users/${u.id}/password`);
      showPassword(res.user.username, res.password);
      loadAudit(true);
    } catch (e) { if (e.status !== 401) showAlert(errorText(e, 'Das Passwort konnte nicht zurückgesetzt werden.')); }
  }

  async function deleteUser(u) {
    if (!await confirmAction(`${u.username} (${u.display_name}) löschen? Die Anmeldung ist dann nicht mehr möglich; das Protokoll behält den Namen.`, 'Löschen')) return;
    clearAlert();
    try {
      await api('DELETE', `/users/${u.id}`);
      status(`${u.username} wurde gelöscht.`);
    } catch (e) { if (e.status !== 401) showAlert(errorText(e, 'Der Benutzer konnte nicht gelöscht werden.')); }
    loadUsers();
    loadAudit(true);
  }

  function openCreate() {
    $('user-form').reset();
    for (const id of ['error-username', 'error-display_name', 'error-role', 'user-error']) $(id).textContent = '';
    $('user-dialog').showModal();
    $('user-username').focus();
  }

  async function createUser(ev) {
    ev.preventDefault();
    for (const id of ['error-username', 'error-display_name', 'error-role', 'user-error']) $(id).textContent = '';
    const body = { username: $('user-username').value.trim(), display_name: $('user-display-name').value.trim(), role: $('user-role').value };
    $('user-create').disabled = true;
    try {
      const res = await api('POST', '/users', body);
      $('user-dialog').close();
      status(`${res.user.username} wurde angelegt.`);
      showPassword(res.user.username, res.password);
      loadUsers();
      loadAudit(true);
    } catch (e) {
      if (e.problems.length) {
        for (const p of e.problems) {
          const target = $(`error-${p.field}`) || $('user-error');
          target.textContent = `${target.textContent} ${p.message}`.trim();
        }
        const first = { username: 'user-username', display_name: 'user-display-name', role: 'user-role' }[e.problems[0].field];
        if (first) $(first).focus();
      } else {
        $('user-error').textContent = errorText(e, 'Der Benutzer konnte nicht angelegt werden.');
      }
    } finally {
      $('user-create').disabled = false;
    }
  }

  // ---- four-eyes --------------------------------------------------------------------------------

  async function loadSettings() {
    try {
      const data = await api('GET', '/settings');
      ui.fourEyes.checked = !!data.four_eyes;
    } catch { /* shown by the other calls */ }
  }

  async function toggleFourEyes() {
    const enabled = ui.fourEyes.checked;
    clearAlert();
    try {
      const res = await api('PUT', '/settings/four-eyes', { enabled });
      status(res.message);
      loadAudit(true);
    } catch (e) {
      ui.fourEyes.checked = !enabled;
      if (e.status !== 401) showAlert(errorText(e, 'Die Einstellung konnte nicht gespeichert werden.'));
    }
  }

  // ---- audit log --------------------------------------------------------------------------------

  function describeDetail(d) {
    const parts = [];
    if (d.version) parts.push(`Version ${d.version}`);
    if (d.retrain) parts.push('Training angestoßen');
    if (d.question) parts.push(`Frage „${d.question}“`);
    if (Array.isArray(d.items)) parts.push(`${d.items.length} Nachricht(en)`);
    if (d.note) parts.push(`Begründung: ${d.note}`);
    if (typeof d.enabled === 'boolean') parts.push(d.enabled ? 'eingeschaltet' : 'ausgeschaltet');
    if (d.role?.from) parts.push(`Rolle ${S.roles[d.role.from] || d.role.from} → ${S.roles[d.role.to] || d.role.to}`);
    else if (typeof d.role === 'string') parts.push(`Rolle ${S.roles[d.role] || d.role}`);
    if (d.display_name?.from) parts.push(`Name ${d.display_name.from} → ${d.display_name.to}`);
    else if (typeof d.display_name === 'string') parts.push(`Anzeigename ${d.display_name}`);
    return parts.join(' · ');
  }

  async function loadAudit(reset) {
    if (reset) S.auditOffset = 0;
    try {
      const data = await api('GET', `/audit?limit=${PAGE}&offset=${S.auditOffset}`);
      const rows = data.entries.map((e) => h('tr', { 'data-testid': 'audit-row', 'data-action': e.action },
        h('td', { text: when(e.at) }), h('td', { text: e.actor }), h('td', { text: e.action_label }),
        h('td', { text: e.target || '' }), h('td', { text: describeDetail(e.detail || {}) })));
      if (reset) $('admin-audit-body').replaceChildren(...rows); else $('admin-audit-body').append(...rows);
      S.auditOffset += data.entries.length;
      $('admin-audit-more').hidden = data.entries.length < PAGE;
    } catch (e) { if (e.status !== 401) showAlert(errorText(e, 'Das Protokoll konnte nicht geladen werden.')); }
  }

  // ---- start ------------------------------------------------------------------------------------

  function start() {
    $('user-new').addEventListener('click', openCreate);
    $('user-form').addEventListener('submit', createUser);
    $('user-cancel').addEventListener('click', () => $('user-dialog').close());
    $('password-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      $('password-value').value = '';
      $('password-dialog').close();
    });
    $('password-dialog').addEventListener('close', () => { $('password-value').value = ''; });
    $('password-copy').addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText($('password-value').value);
        $('password-copied').textContent = 'Kopiert.';
      } catch {
        $('password-value').select();
        $('password-copied').textContent = 'Bitte mit Strg+C kopieren.';
      }
    });
    ui.fourEyes.addEventListener('change', toggleFourEyes);
    $('admin-audit-more').addEventListener('click', () => loadAudit(false));
    loadUsers();
    loadSettings();
    loadAudit(true);
  }

  start();
})();
