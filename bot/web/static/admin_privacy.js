/*
 * Admins' data protection page (/admin/datenschutz): find a conversation, export it (JSON
 * download), delete it; the retention period. The page (templates/admin_privacy.html) is a static
 * skeleton; this script fills it from /api/admin/conversations and /api/admin/privacy with the
 * session cookie and the CSRF token from <meta name="csrf-token">. Text reaches the DOM only as
 * textContent.
 *
 * Stable hooks for browser tests (ids unless noted):
 *   privacy-status (role=status), privacy-alert (role=alert)
 *   find-form, find-query, find-submit, find-empty, find-table, find-body: rows
 *     data-testid="conversation-row" with a link data-testid="conversation-export" and a button
 *     data-testid="conversation-delete"
 *   retention-text, retention-facts
 *   confirm-dialog: confirm-text, confirm-ok, confirm-cancel
 */
(() => {
  'use strict';

  const API = '/api/admin';
  const $ = (id) => document.getElementById(id);

  const { h, apiClient, confirmAction } = window.StaffPage; // static/staff.js

  let stopped = false;
  /** The API's answer as { data, headers } (a deletion's header tells whether Rasa confirmed). */
  const api = apiClient(API, () => loggedOut());

  const dateTime = new Intl.DateTimeFormat('de-DE', { dateStyle: 'medium', timeStyle: 'short' });
  const when = (iso) => (iso ? dateTime.format(new Date(iso)) : '–');
  const errorText = (e, fallback) => (typeof e?.detail === 'string' && e.detail) || fallback || 'Das hat leider nicht geklappt.';

  const ui = {
    status: $('privacy-status'), alert: $('privacy-alert'), form: $('find-form'), query: $('find-query'),
    empty: $('find-empty'), table: $('find-table'), body: $('find-body'),
    retention: $('retention-text'), facts: $('retention-facts'),
  };

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

  // ---- finding, export, deletion -----------------------------------------------------------------

  const short = (id) => `${id.slice(0, 8)}…`;

  function renderRow(c) {
    const exportLink = h('a', {
      class: 'btn btn--ghost', href: `${API}/conversations/${encodeURIComponent(c.id)}/export`,
      download: `gespraech-${c.id.slice(0, 8)}.json`, 'data-testid': 'conversation-export',
      'aria-label': `Gespräch ${short(c.id)} exportieren (JSON)`, text: 'Exportieren',
    });
    const del = h('button', {
      type: 'button', class: 'btn btn--danger', 'data-testid': 'conversation-delete',
      'aria-label': `Gespräch ${short(c.id)} löschen`, text: 'Löschen',
      onclick: () => remove(c),
    });
    return h('tr', { 'data-testid': 'conversation-row', 'data-id': c.id },
      h('td', {}, h('code', { text: short(c.id), title: c.id })),
      h('td', { text: c.found_by }),
      h('td', { text: when(c.created_at) }),
      h('td', { text: when(c.updated_at) }),
      h('td', { text: c.state_label }),
      h('td', { text: String(c.messages) }),
      h('td', { text: String(c.tickets) }),
      h('td', { class: 'actions' }, exportLink, ' ', del));
  }

  function showResults(conversations, message) {
    ui.body.replaceChildren(...conversations.map(renderRow));
    ui.table.hidden = conversations.length === 0;
    ui.empty.hidden = conversations.length > 0;
    ui.empty.textContent = message || 'Kein Gespräch gefunden. Vielleicht wurde es schon gelöscht.';
  }

  async function find() {
    clearAlert();
    const q = ui.query.value.trim();
    try {
      const { data } = await api('GET', `/conversations?q=${encodeURIComponent(q)}`);
      showResults(data.conversations || [], data.message);
      if ((data.conversations || []).length) status(`${data.conversations.length} Gespräch(e) gefunden.`);
    } catch (e) { if (e.status !== 401) showAlert(errorText(e, 'Die Suche hat nicht geklappt.')); }
  }

  async function remove(c) {
    const ok = await confirmAction(`Gespräch ${short(c.id)} mit ${c.messages} Nachricht(en) und ${c.tickets} Rückrufwunsch/-wünschen wird endgültig gelöscht, auch im Assistenten. Das lässt sich nicht rückgängig machen.`);
    if (!ok) return;
    clearAlert();
    try {
      const { headers } = await api('DELETE', `/conversations/${encodeURIComponent(c.id)}`);
      const pending = headers.get('X-Tracker-Deletion') === 'pending';
      status(pending
        ? `Gespräch ${short(c.id)} ist gelöscht. Der Assistent war gerade nicht erreichbar; sein Gesprächsverlauf wird automatisch gelöscht, sobald er wieder erreichbar ist.`
        : `Gespräch ${short(c.id)} ist gelöscht – überall.`);
      ui.body.querySelector(`tr[data-id="${CSS.escape(c.id)}"]`)?.remove();
      if (!ui.body.children.length) showResults([], 'Keine weiteren Gespräche in der Trefferliste.');
      ui.query.focus();
      loadRetention();
    } catch (e) { if (e.status !== 401) showAlert(errorText(e, 'Das Gespräch konnte nicht gelöscht werden.')); }
  }

  // ---- retention -----------------------------------------------------------------------------------

  async function loadRetention() {
    try {
      const { data } = await api('GET', '/privacy');
      ui.retention.textContent = `Gespräche werden ${data.retention_days} Tage nach der letzten Aktivität automatisch gelöscht – mit Nachrichten, Weiterleitungen, Bewertungen, Rückrufwünschen, Posteingangs-Einträgen und dem Gesprächsverlauf des Assistenten. Ein Rückrufwunsch, der als erledigt markiert wurde, zählt als Aktivität. Die Löschung läuft täglich.`;
      const facts = [
        ['Gelöscht wird, was zuletzt aktiv war vor', when(data.cutoff)],
        ['Beim nächsten Lauf fällig', `${data.due.conversations} Gespräch(e), ${data.due.messages} Nachricht(en), ${data.due.tickets} Rückrufwunsch/-wünsche`],
        ['Älteste gespeicherte Aktivität', when(data.oldest_activity)],
        ['Noch ausstehende Löschungen im Assistenten', String(data.pending_tracker_deletions)],
      ];
      ui.facts.replaceChildren(...facts.flatMap(([term, value]) => [h('dt', { text: term }), h('dd', { text: value })]));
    } catch (e) { if (e.status !== 401) ui.retention.textContent = errorText(e, 'Die Angaben zur Aufbewahrung konnten nicht geladen werden.'); }
  }

  ui.form.addEventListener('submit', (ev) => { ev.preventDefault(); find(); });
  loadRetention();
})();
