/*
 * Admins' UI (/admin/): users, the four-eyes switch, the audit log. The page (templates/admin.html)
 * is a static skeleton; this script fills it from /api/admin/... with the session cookie and the
 * CSRF token from <meta name="csrf-token">. Text reaches the DOM only as textContent (there is no
 * Markdown on this page). Generated passwords are shown once in a dialog and never stored here.
 *
 * Stable hooks for browser tests (ids unless noted):
 *   admin-status (role=status), admin-alert (role=alert)
 *   users-body: rows data-testid="user-row" data-username, with a role select
 *     data-testid="user-role" and buttons data-testid="user-role-save", "user-reset",
 *     "user-active" (lock/unlock), "user-delete"
 *   user-new → user-dialog: user-username, user-display-name, user-role, user-create, user-cancel,
 *     error-username, error-display_name, error-role, user-error
 *   password-dialog: password-user, password-value (data-testid="password-value"), password-copy,
 *     password-close
 *   four-eyes-toggle (checkbox)
 *   admin-audit-body (rows data-testid="audit-row"), admin-audit-more
 *   confirm-dialog: confirm-text, confirm-ok, confirm-cancel
 *   Betrieb (operations, from /api/admin/kpis): ops-period (select 24h | 7d), ops-refresh,
 *     ops-queue, ops-longest, ops-average, ops-solved, ops-training (data-testid alike),
 *     ops-updated, ops-charts: figures data-testid="ops-chart" data-chart="messages" | "fallback"
 *     | "handoff" | "solved" | "wait", each an <svg role="img"> with <title>/<desc> and a
 *     <details> table (data-testid="ops-table"). Charts are drawn here as inline SVG (no library).
 */
(() => {
  'use strict';

  const API = '/api/admin';
  const PAGE = 50;
  const $ = (id) => document.getElementById(id);

  const { h, apiClient, confirmAction } = window.StaffPage; // static/staff.js

  let stopped = false;
  const request = apiClient(API, () => loggedOut());
  /** The API's JSON answer (null for 204); HttpError on failure. */
  const api = async (method, path, body) => (await request(method, path, body)).data;

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
      actions.push(h('button', { type: 'button', class: 'btn btn--ghost btn--small', 'data-testid': 'user-active',
        'aria-label': `${u.username} ${u.active === false ? 'entsperren' : 'sperren'}`,
        text: u.active === false ? 'Entsperren' : 'Sperren', onclick: () => setActive(u, u.active === false) }));
      actions.push(h('button', { type: 'button', class: 'btn btn--danger btn--small', 'data-testid': 'user-delete',
        'aria-label': `${u.username} löschen`, text: 'Löschen', onclick: () => deleteUser(u) }));
    }
    return h('tr', { 'data-testid': 'user-row', 'data-username': u.username },
      h('td', { text: `${u.username}${self ? ' (Sie)' : ''}${u.active === false ? ' – gesperrt' : ''}` }),
      h('td', { text: u.display_name }),
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

  async function setActive(u, active) {
    if (!active && !await confirmAction(`${u.username} sperren? Alle Anmeldungen von ${u.username} enden sofort; bis zum Entsperren ist keine Anmeldung möglich.`, 'Sperren')) return;
    clearAlert();
    try {
      const res = await api('PATCH', `/users/${u.id}`, { active });
      status(`${res.user.username} ist ${res.user.active ? 'wieder freigeschaltet' : 'gesperrt'}.`);
    } catch (e) { if (e.status !== 401) showAlert(errorText(e, 'Der Zugang konnte nicht geändert werden.')); }
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
    if (!await confirmAction(`Ein neues Passwort für ${u.username} erzeugen? Das bisherige gilt dann nicht mehr, und alle Anmeldungen von ${u.username} enden sofort.`, 'Neues Passwort')) return;
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
    if (typeof d.active?.to === 'boolean') parts.push(d.active.to ? 'entsperrt' : 'gesperrt');
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

  // ---- operations (Betrieb) ---------------------------------------------------------------------

  const SVG_NS = 'http://www.w3.org/2000/svg';
  /** An SVG element; strings among the children become text nodes. */
  function svg(tag, attrs = {}, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) if (v != null) el.setAttribute(k, String(v));
    el.append(...children.filter((c) => c != null));
    return el;
  }

  const OPS_REFRESH_MS = 60000;
  const count = new Intl.NumberFormat('de-DE', { maximumFractionDigits: 0 });
  const percent = new Intl.NumberFormat('de-DE', { style: 'percent', maximumFractionDigits: 1 });
  const clock = new Intl.DateTimeFormat('de-DE', { hour: '2-digit', minute: '2-digit' });
  const day = new Intl.DateTimeFormat('de-DE', { weekday: 'short', day: '2-digit', month: '2-digit' });
  const hourLabel = new Intl.DateTimeFormat('de-DE', { hour: '2-digit' });

  /** Seconds as German text: "45 s", "3 min 20 s", "1 h 5 min". */
  function duration(seconds) {
    if (seconds == null) return '–';
    const s = Math.round(seconds);
    if (s < 60) return `${s} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
    return `${Math.floor(m / 60)} h ${m % 60} min`;
  }
  const span = (b) => `${day.format(new Date(b.start))}, ${clock.format(new Date(b.start))}–${clock.format(new Date(b.end))} Uhr`;
  const sum = (buckets, key) => buckets.reduce((total, b) => total + (b[key] || 0), 0);
  const share = (part, whole) => (whole ? part / whole : null);

  // What each chart shows. value: the bar; extra: a dot (the longest wait); total: the whole period.
  const CHARTS = [
    { id: 'messages', title: 'Kundennachrichten', kind: 'count',
      explain: 'Nachrichten, die Kundinnen und Kunden geschrieben oder per Button gesendet haben.',
      value: (b) => b.customer_messages, total: (bs) => sum(bs, 'customer_messages') },
    { id: 'fallback', title: 'Fallback-Quote', kind: 'percent',
      explain: 'Anteil der Antworten des Assistenten, in denen er die Frage nicht verstanden hat.',
      value: (b) => b.fallback_rate, total: (bs) => share(sum(bs, 'fallbacks'), sum(bs, 'bot_messages')) },
    { id: 'handoff', title: 'Übergabe-Quote', kind: 'percent',
      explain: 'Anteil der Unterhaltungen, in denen nach einer Person gefragt wurde (Warteschlange oder Rückrufangebot).',
      value: (b) => b.handoff_rate, total: (bs) => share(sum(bs, 'handoff_conversations'), sum(bs, 'active_conversations')) },
    { id: 'solved', title: 'Ohne Person gelöst', kind: 'percent',
      explain: 'Anteil der begonnenen Unterhaltungen, in denen niemand nach einer Person gefragt hat.',
      value: (b) => b.solved_share, total: (bs) => share(sum(bs, 'solved_without_person'), sum(bs, 'started_conversations')) },
    { id: 'wait', title: 'Wartezeit in der Warteschlange', kind: 'seconds',
      explain: 'Balken: durchschnittliche Wartezeit bis zur Übernahme durch eine Person; Punkt: längste Wartezeit.',
      value: (b) => b.wait_avg_s, extra: (b) => b.wait_max_s, extraLabel: 'Längste',
      total: (bs) => { const w = bs.filter((b) => b.wait_max_s != null); return w.length ? Math.max(...w.map((b) => b.wait_max_s)) : null; } },
  ];

  function formatValue(kind, v) {
    if (v == null) return '–';
    if (kind === 'percent') return percent.format(v);
    if (kind === 'seconds') return duration(v);
    return count.format(v);
  }

  // Upper ends of the y axis for waiting times (s): whole minutes and hours.
  const WAIT_SCALE = [60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800, 86400];

  /** A round upper end of the y axis at or above max. */
  function niceMax(kind, max) {
    if (kind === 'percent') return 1;
    if (kind === 'seconds') return WAIT_SCALE.find((s) => s >= max) || Math.ceil(max / 86400) * 86400;
    if (max <= 4) return 4;
    const step = 10 ** Math.floor(Math.log10(max));
    for (const f of [1, 2, 2.5, 5, 10]) if (f * step >= max) return f * step;
    return 10 * step;
  }

  const decimal = new Intl.NumberFormat('de-DE', { maximumFractionDigits: 1 });
  /** A short label of the y axis ("2,5 min" rather than "2 min 30 s"). */
  function axisLabel(kind, v) {
    if (kind !== 'seconds') return formatValue(kind, v);
    if (v < 60) return `${decimal.format(v)} s`;
    if (v < 3600) return `${decimal.format(v / 60)} min`;
    return `${decimal.format(v / 3600)} h`;
  }

  function summary(chart, buckets) {
    const total = chart.total(buckets);
    const known = buckets.filter((b) => chart.value(b) != null);
    if (!known.length) return 'Im Zeitraum gibt es dafür noch keine Daten.';
    const top = known.reduce((a, b) => (chart.value(b) > chart.value(a) ? b : a));
    const whole = chart.kind === 'count' ? `Insgesamt ${formatValue('count', total)}`
      : chart.kind === 'seconds' ? `Längste Wartezeit im Zeitraum: ${formatValue('seconds', total)}`
        : `Im ganzen Zeitraum: ${formatValue('percent', total)}`;
    const highest = chart.extra ? 'Höchster Durchschnitt' : 'Höchster Wert';
    return `${whole}. ${highest} ${formatValue(chart.kind, chart.value(top))} (${span(top)}).`;
  }

  function drawSvg(chart, buckets, period, titleId, descId, description) {
    const W = 640, H = 220, left = 72, right = 12, top = 12, bottom = 40;
    const plotW = W - left - right, plotH = H - top - bottom;
    const values = buckets.map(chart.value);
    const extras = chart.extra ? buckets.map(chart.extra) : [];
    const max = niceMax(chart.kind, Math.max(0, ...values.filter((v) => v != null), ...extras.filter((v) => v != null)));
    const y = (v) => top + plotH - (v / max) * plotH;
    const slot = plotW / buckets.length;
    const el = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': `${titleId} ${descId}`, focusable: 'false' },
      svg('title', { id: titleId }, chart.title), svg('desc', { id: descId }, description));
    for (const f of [0, 0.5, 1]) {
      el.append(svg('line', { class: 'chart-grid', x1: left, x2: W - right, y1: y(f * max), y2: y(f * max) }),
        svg('text', { class: 'chart-label', x: left - 6, y: y(f * max) + 4, 'text-anchor': 'end' }, axisLabel(chart.kind, f * max)));
    }
    const every = 4; // a label every 4 hours (24 h) or every day (7 days: 6-hour buckets)
    buckets.forEach((b, i) => {
      const v = values[i];
      const x = left + i * slot;
      if (v != null) { // a zero is a thin line, so it differs from "no data"
        const height = Math.max(1.5, top + plotH - y(v));
        el.append(svg('rect', { class: 'chart-bar', x: x + slot * 0.15, width: slot * 0.7, y: top + plotH - height, height },
          svg('title', {}, `${span(b)}: ${formatValue(chart.kind, v)}`)));
      }
      if (extras[i] != null) {
        el.append(svg('circle', { class: 'chart-dot', cx: x + slot / 2, cy: y(extras[i]), r: 3.5 },
          svg('title', {}, `${span(b)}: ${chart.extraLabel} ${formatValue(chart.kind, extras[i])}`)));
      }
      if (i % every === 0) {
        const start = new Date(b.start);
        const label = period === '7d' ? day.format(start) : hourLabel.format(start); // "17 Uhr"
        el.append(svg('text', { class: 'chart-label', x: x + slot / 2, y: H - bottom + 18, 'text-anchor': 'middle' }, label));
      }
    });
    return el;
  }

  function table(chart, buckets) {
    const head = [h('th', { scope: 'col', text: 'Zeitraum' }), h('th', { scope: 'col', text: chart.extra ? 'Durchschnitt' : 'Wert' })];
    if (chart.extra) head.push(h('th', { scope: 'col', text: chart.extraLabel }));
    const rows = buckets.map((b) => {
      const cells = [h('th', { scope: 'row', text: span(b) }), h('td', { text: formatValue(chart.kind, chart.value(b)) })];
      if (chart.extra) cells.push(h('td', { text: formatValue(chart.kind, chart.extra(b)) }));
      return h('tr', {}, ...cells);
    });
    return h('details', {}, h('summary', { text: `Werte als Tabelle: ${chart.title}` }),
      h('div', { class: 'table-wrap' }, h('table', { 'data-testid': 'ops-table' },
        h('caption', { class: 'sr-only', text: chart.title }), h('thead', {}, h('tr', {}, ...head)), h('tbody', {}, ...rows))));
  }

  function renderCharts(data) {
    const figures = CHARTS.map((chart) => {
      const captionId = `ops-${chart.id}-caption`;
      const description = `${chart.explain} ${summary(chart, data.buckets)}`;
      return h('figure', { class: 'chart', 'data-testid': 'ops-chart', 'data-chart': chart.id, 'aria-labelledby': captionId },
        h('figcaption', { id: captionId }, h('strong', { text: chart.title }), h('span', { class: 'muted small', text: description })),
        drawSvg(chart, data.buckets, data.period, `ops-${chart.id}-title`, `ops-${chart.id}-desc`, summary(chart, data.buckets)),
        table(chart, data.buckets));
    });
    $('ops-charts').replaceChildren(...figures);
  }

  function renderNow(now, generatedAt) {
    $('ops-queue').textContent = now.queue_length === 1 ? '1 Unterhaltung' : `${count.format(now.queue_length)} Unterhaltungen`;
    $('ops-longest').textContent = now.queue_length ? duration(now.longest_wait_s) : '–';
    $('ops-average').textContent = now.queue_length ? duration(now.average_wait_s) : '–';
    $('ops-solved').textContent = now.solved_share == null ? 'noch keine Unterhaltungen'
      : `${percent.format(now.solved_share)} von ${count.format(now.started_conversations)}`;
    const t = now.training;
    $('ops-training').textContent = !t ? 'noch kein Training'
      : t.finished_at ? `${t.state_label} (${when(t.finished_at)})` : t.state_label;
    $('ops-updated').textContent = `Stand: ${when(generatedAt)}`;
  }

  /** Conversations with abusive messages per calendar week (bot/web/social_api.py). */
  async function loadAbuse() {
    try {
      const data = await api('GET', '/abuse?weeks=12');
      $('abuse-body').replaceChildren(...(data.weeks || []).map((w) => {
        const row = document.createElement('tr');
        const week = document.createElement('td');
        week.textContent = String(w.week).replace(/^(\d{4})-W(\d{2})$/, 'KW $2/$1');
        const count = document.createElement('td');
        count.textContent = String(w.conversations);
        row.append(week, count);
        return row;
      }));
    } catch { /* the other figures still show */ }
    try {
      const data = await api('GET', '/channels');
      $('channels-body').replaceChildren(...(data.channels || []).map((c) => {
        const row = document.createElement('tr');
        for (const value of [c.label, c.conversations, c.handoffs, c.abusive]) {
          const cell = document.createElement('td');
          cell.textContent = String(value);
          row.append(cell);
        }
        return row;
      }));
    } catch { /* the other figures still show */ }
  }

  let opsTimer = null;
  /** Load and show the figures (skipped while the tab is hidden, unless forced); every minute. */
  async function loadOperations(force = false) {
    window.clearTimeout(opsTimer);
    let loaded = false;
    if (force || !document.hidden) {
      try {
        const data = await api('GET', `/kpis?period=${encodeURIComponent($('ops-period').value)}`);
        renderNow(data.current, data.generated_at);
        renderCharts(data);
        loadAbuse();
        loaded = true;
      } catch (e) {
        if (e.status !== 401) showAlert(errorText(e, 'Die Betriebszahlen konnten nicht geladen werden.'));
      }
    }
    if (!stopped) opsTimer = window.setTimeout(loadOperations, OPS_REFRESH_MS);
    return loaded;
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
    $('ops-period').addEventListener('change', () => loadOperations(true));
    $('ops-refresh').addEventListener('click', async () => {
      if (await loadOperations(true)) status('Die Betriebszahlen wurden aktualisiert.');
    });
    loadUsers();
    loadSettings();
    loadAudit(true);
    loadOperations(true);
  }

  start();
})();
