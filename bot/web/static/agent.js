/*
 * Agent console (/agent/). The page (templates/agent.html) is a static skeleton; this script fills
 * the queue, the claimed conversation and the callback tickets, and keeps them live over the
 * WebSocket /api/v1/agent/ws, polling every 3 s while it is down. Every API call sends the session
 * cookie (credentials: same-origin) and the CSRF token from <meta name="csrf-token">.
 *
 * Security rule as in widget.js: text reaches the DOM as textContent or through setServerHtml().
 */
(() => {
  'use strict';

  const CSRF = document.querySelector('meta[name="csrf-token"]')?.content || '';
  const POLL_MS = 3000;
  const TICKETS_MS = 60000;
  const KEY_ACTIVE = 'stadtwerk-agent-active'; // the claimed conversation survives a reload of the console
  const $ = (id) => document.getElementById(id);
  const ui = {
    connection: $('connection'), alert: $('console-alert'),
    queueCount: $('queue-count'), queueLive: $('queue-live'), queueEmpty: $('queue-empty'), queueList: $('queue-list'),
    chatTitle: $('chat-title'), chatInfo: $('chat-info'), chatLog: $('chat-log'), chatForm: $('chat-form'),
    controls: $('chat-controls'), input: $('chat-input'), canned: $('canned'), cannedInsert: $('canned-insert'),
    handback: $('chat-handback'), close: $('chat-close'),
    ticketsRefresh: $('tickets-refresh'), ticketsEmpty: $('tickets-empty'), ticketsTable: $('tickets-table'), ticketsBody: $('tickets-body'),
    queueChannel: $('queue-channel'), window: $('chat-window'), closed: $('chat-closed'),
    templateBox: $('chat-template-box'), template: $('chat-template'), templateSend: $('chat-template-send'),
    callbackConcern: $('chat-callback-concern'), callback: $('chat-callback'), block: $('chat-block'),
    mentionsCount: $('mentions-count'), mentionsEmpty: $('mentions-empty'), mentionsList: $('mentions-list'),
  };
  const CHANNELS = { web: 'Webchat', whatsapp: 'WhatsApp', messenger: 'Messenger' };
  const DELIVERY = { sent: 'gesendet', delivered: 'zugestellt', read: 'gelesen', failed: 'nicht zugestellt' };

  /**
   * The only place that writes innerHTML: a message's `html`, its Markdown rendered and sanitised
   * once on the server (bot/content/markdown.py: an allow-list of tags, safe link targets only).
   * A message without it (never sent by this server) shows its text as plain text.
   */
  function setServerHtml(el, html, text) {
    if (typeof html === 'string') el.innerHTML = html;
    else el.textContent = text || '';
  }

  // ---- helpers ----------------------------------------------------------------------------------

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
    constructor(status, detail) { super(`HTTP ${status}`); this.status = status; this.detail = detail; }
  }

  async function api(method, path, body) {
    const headers = { Accept: 'application/json', 'X-CSRF-Token': CSRF };
    if (body) headers['Content-Type'] = 'application/json';
    const res = await fetch(path, { method, headers, credentials: 'same-origin', body: body ? JSON.stringify(body) : undefined });
    if (res.status === 401) loggedOut();
    if (!res.ok) {
      let detail = null;
      try { detail = (await res.json()).detail; } catch { /* not JSON */ }
      throw new HttpError(res.status, detail);
    }
    return res.status === 204 ? null : res.json().catch(() => null);
  }

  const detailText = (d) => (typeof d === 'string' ? d : Array.isArray(d) ? d.map((x) => x?.msg).filter(Boolean).join(' ') : '');
  const listOf = (data, key) => (Array.isArray(data) ? data : Array.isArray(data?.[key]) ? data[key] : []);
  const idOf = (item) => String(item.conversation_id ?? item.id ?? '');
  const hasSeq = (m) => Number.isFinite(m?.seq);
  const number = new Intl.NumberFormat('de-DE', { maximumFractionDigits: 2 });
  const dateTime = new Intl.DateTimeFormat('de-DE', { dateStyle: 'short', timeStyle: 'short' });

  function showAlert(text, link) {
    ui.alert.replaceChildren(h('p', { text }), link ? h('p', {}, h('a', { href: link.href, text: link.text })) : null);
    ui.alert.hidden = false;
  }
  function clearAlert() { ui.alert.hidden = true; ui.alert.replaceChildren(); }

  let stopped = false;
  function loggedOut() {
    if (stopped) return;
    stopped = true;
    closeWs();
    ui.controls.disabled = true;
    showAlert('Ihre Anmeldung ist abgelaufen. Bitte melden Sie sich erneut an.', { href: '/agent/login', text: 'Zur Anmeldung' });
  }

  /** "4 Min. 05 Sek." – minutes and seconds are what matters while a customer waits. */
  function duration(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    if (s < 60) return `${s} Sek.`;
    if (s < 3600) return `${Math.floor(s / 60)} Min. ${String(s % 60).padStart(2, '0')} Sek.`;
    return `${Math.floor(s / 3600)} Std. ${Math.floor((s % 3600) / 60)} Min.`;
  }

  // Labels for the calculation summary (inputs and results of the tariff calculator, contract §2).
  const LABELS = {
    energy: 'Energie', forecast_kwh: 'Verbrauchsprognose (kWh/Jahr)', contingent_forecast_kwh: 'Prognose für das Kontingent (kWh)',
    working_price_ct: 'Arbeitspreis (ct/kWh)', base_price_eur_year: 'Grundpreis (€/Jahr)', month: 'Monat',
    current_instalment_eur: 'Aktueller Abschlag (€)', reference_price_ct: 'Referenzpreis (ct/kWh)',
    monthly_relief_eur: 'Entlastung pro Monat (€)', annual_relief_eur: 'Entlastung pro Jahr (€)',
    instalment_without_relief_eur: 'Abschlag ohne Entlastung (€)', instalment_with_relief_eur: 'Abschlag mit Entlastung (€)',
    relief_eur: 'Soforthilfe (€)', inputs: 'Eingaben', result: 'Ergebnis',
  };
  /** Any JSON value as short German text (numbers in German format; "steps" are left out). */
  function describe(value) {
    if (value == null) return '–';
    if (typeof value === 'number') return number.format(value);
    if (Array.isArray(value)) return value.map(describe).join(', ');
    if (typeof value === 'object') {
      return Object.entries(value).filter(([k]) => k !== 'steps').map(([k, v]) => `${LABELS[k] || k}: ${describe(v)}`).join('; ');
    }
    return String(value);
  }

  const WHO = { customer: 'Kundin/Kunde', bot: 'Assistent', system: 'System' };

  // ---- queue ------------------------------------------------------------------------------------

  const S = {
    queue: [], queueKey: '', queueAt: 0, lastCount: -1,
    active: sessionStorage.getItem(KEY_ACTIVE), seen: new Set(),
    ws: null, wsOpen: false, wsTimer: 0, backoff: 1000, polling: false,
  };

  function waited(item) {
    const base = Number.isFinite(item.waiting_seconds) ? item.waiting_seconds
      : item.queued_at ? (S.queueAt - Date.parse(item.queued_at)) / 1000 : 0;
    return base + (Date.now() - S.queueAt) / 1000;
  }

  function renderQueue(all) {
    S.all = all;
    const only = ui.queueChannel.value;
    const items = only ? all.filter((i) => (i.channel || 'web') === only) : all;
    S.queue = items;
    S.queueAt = Date.now();
    ui.queueCount.textContent = String(items.length);
    ui.queueEmpty.hidden = items.length > 0;
    if (items.length !== S.lastCount) { // announce changes of the count, not every refresh
      if (S.lastCount >= 0) ui.queueLive.textContent = items.length === 1 ? '1 Gespräch wartet.' : `${items.length} Gespräche warten.`;
      S.lastCount = items.length;
    }
    // Rebuild only when the content changed: a rebuild would take the focus from the agent.
    const key = JSON.stringify(items.map((i) => [idOf(i), i.summary, i.page, i.channel]));
    if (key !== S.queueKey) {
      S.queueKey = key;
      const focused = document.activeElement?.closest?.('[data-conversation]')?.dataset.conversation;
      ui.queueList.replaceChildren(...items.map(renderQueueItem));
      if (focused) ui.queueList.querySelector(`[data-conversation="${CSS.escape(focused)}"] button`)?.focus();
    }
    tick();
  }

  function renderQueueItem(item, index) {
    const id = idOf(item);
    const sum = item.summary || {};
    const topic = sum.topic ?? sum.topic_title ?? sum.last_topic ?? sum.faq_title;
    const answers = sum.bot_answers ?? sum.bot_answer_count ?? sum.bot_messages;
    const calculation = sum.calculation ?? sum.calculations;
    const turns = sum.last_turns ?? sum.turns ?? item.last_turns ?? [];
    const headId = `q-${index}-head`;
    const dl = h('dl', { class: 'q-facts' },
      h('dt', { text: 'Thema' }), h('dd', { text: topic || 'noch keines erkannt' }),
      h('dt', { text: 'Antworten des Assistenten' }), h('dd', { text: answers == null ? '–' : String(answers) }));
    if (item.page) dl.append(h('dt', { text: 'Seite' }), h('dd', { text: String(item.page) }));
    if (calculation) dl.append(h('dt', { text: 'Berechnung' }), h('dd', { text: describe(calculation) }));
    const turnList = Array.isArray(turns) && turns.length ? h('details', {},
      h('summary', { text: `Letzte Nachrichten (${turns.length})` }),
      h('ol', { class: 'q-turns' }, ...turns.map((t) => h('li', {},
        h('strong', { text: `${t.sender === 'agent' ? (t.agent_name || 'Kundenservice') : WHO[t.sender] || 'Assistent'}: ` }),
        t.abusive ? h('em', { text: '[beleidigende Nachricht – im Gespräch ansehen]' }) : String(t.text ?? '').slice(0, 400))))) : null;
    return h('li', { class: 'q-item', 'data-conversation': id },
      h('p', { class: 'q-head', id: headId }, 'Wartet seit ', h('span', { class: 'q-wait', text: duration(waited(item)) }),
        channelBadge(item.channel)),
      dl, turnList,
      h('button', { type: 'button', class: 'btn', 'aria-describedby': headId, onclick: () => claim(id), text: 'Übernehmen' }));
  }

  function channelBadge(channel) {
    const c = CHANNELS[channel] ? channel : 'web';
    return h('span', { class: `badge badge--${c}`, text: CHANNELS[c] });
  }
  ui.queueChannel.addEventListener('change', () => { S.queueKey = ''; renderQueue(S.all || []); });

  /** The waiting times tick every second (outside any live region, so nothing is announced). */
  function tick() {
    ui.queueList.querySelectorAll('.q-item').forEach((li, i) => {
      const item = S.queue[i];
      if (item) li.querySelector('.q-wait').textContent = duration(waited(item));
    });
  }
  setInterval(tick, 1000);

  async function loadQueue() {
    try { renderQueue(listOf(await api('GET', '/api/v1/agent/queue'), 'queue')); } catch { /* next poll */ }
  }

  async function claim(id) {
    clearAlert();
    try {
      const res = await api('POST', `/api/v1/agent/conversations/${encodeURIComponent(id)}/claim`);
      setActive(id);
      (res?.messages || []).forEach(addMessage);
      await pollActive();
      ui.input.focus();
    } catch (e) {
      if (e.status === 401) return;
      showAlert(e.status === 409 || e.status === 404
        ? 'Dieses Gespräch ist nicht mehr in der Warteschlange – vermutlich hat es schon jemand anderes übernommen.'
        : `Das Gespräch konnte nicht übernommen werden. ${detailText(e.detail)}`.trim());
    }
    loadQueue();
  }

  // ---- the claimed conversation -----------------------------------------------------------------

  function setActive(id, info) {
    S.active = id;
    S.channel = null;
    ui.input.disabled = false;
    ui.window.hidden = true;
    ui.closed.hidden = true;
    ui.block.hidden = true;
    S.seen.clear();
    ui.chatLog.replaceChildren();
    if (id) sessionStorage.setItem(KEY_ACTIVE, id); else sessionStorage.removeItem(KEY_ACTIVE);
    ui.controls.disabled = !id;
    ui.chatTitle.textContent = id ? `Gespräch ${id.slice(0, 8)}` : 'Gespräch';
    ui.chatInfo.textContent = info || (id ? 'Ihre Antworten erscheinen sofort im Chat-Fenster der Kundin oder des Kunden.'
      : 'Übernehmen Sie ein Gespräch aus der Warteschlange.');
  }

  /** Leave the conversation (handed back, closed, deleted). */
  function endActive(info) {
    // The controls are about to be disabled: if the focus is on one, move it to the explanation.
    const hadFocus = ui.chatForm.contains(document.activeElement);
    setActive(null, info);
    if (hadFocus) {
      ui.chatInfo.setAttribute('tabindex', '-1');
      ui.chatInfo.focus();
    }
  }

  function addMessage(m) {
    if (!m || (hasSeq(m) && S.seen.has(m.seq))) return;
    if (hasSeq(m)) S.seen.add(m.seq);
    const sender = ['customer', 'bot', 'agent', 'system'].includes(m.sender) ? m.sender : 'bot';
    const bubble = h('div', { class: 'bubble' });
    if (m.abusive) {
      // Blurred until the agent chooses to read it (protection against a stream of insults).
      bubble.classList.add('bubble--abusive');
      const text = h('span', { class: 'abusive-text', text: m.text || '' });
      const reveal = h('button', { type: 'button', class: 'btn btn--ghost abusive-note', text: 'Beleidigende Nachricht – anzeigen' });
      reveal.addEventListener('click', () => { bubble.classList.add('bubble--shown'); reveal.remove(); });
      bubble.append(reveal, text);
    } else if (sender === 'customer') bubble.textContent = m.text || ''; else setServerHtml(bubble, m.html, m.text);
    const el = h('div', { class: `msg msg--${sender}` },
      h('p', { class: 'who', text: sender === 'agent' ? (m.agent_name || 'Kundenservice') : WHO[sender] }), bubble,
      m.delivery_state && S.channel !== 'web' ? h('p', { class: `delivery delivery--${m.delivery_state}`,
        text: `${DELIVERY[m.delivery_state] || m.delivery_state}${m.delivery_error ? ` (Fehler ${m.delivery_error})` : ''}` }) : null);
    if (hasSeq(m)) el.dataset.seq = m.seq;
    const after = hasSeq(m) ? [...ui.chatLog.children].find((c) => Number(c.dataset.seq) > m.seq) : null;
    const stick = ui.chatLog.scrollHeight - ui.chatLog.scrollTop - ui.chatLog.clientHeight < 64;
    ui.chatLog.insertBefore(el, after || null);
    if (stick) ui.chatLog.scrollTop = ui.chatLog.scrollHeight;
  }

  /** The claimed conversation's transcript and state (already shown messages are skipped by seq). */
  async function pollActive() {
    const id = S.active;
    if (!id || S.polling) return;
    S.polling = true;
    try {
      const res = await api('GET', `/api/v1/agent/conversations/${encodeURIComponent(id)}`);
      if (id !== S.active) return;
      if (res?.channel && res.channel !== S.channel) {
        S.channel = res.channel;
        ui.chatTitle.replaceChildren(`Gespräch ${id.slice(0, 8)}`, channelBadge(res.channel));
        ui.block.hidden = res.channel === 'web';
        loadWindow();
      }
      (res?.messages || []).forEach(addMessage);
      if (res?.state === 'closed') endActive('Das Gespräch ist beendet.');
      else if (res?.state === 'bot') endActive('Das Gespräch liegt wieder beim Assistenten.');
    } catch (e) {
      if (e.status === 404 && id === S.active) endActive('Die Kundin oder der Kunde hat das Gespräch gelöscht.');
    } finally {
      S.polling = false;
    }
  }

  async function act(path, body) {
    clearAlert();
    return api('POST', `/api/v1/agent/conversations/${encodeURIComponent(S.active)}/${path}`, body);
  }

  async function sendReply() {
    const text = ui.input.value.trim();
    if (!text || !S.active) return;
    ui.input.value = '';
    try {
      const res = await act('messages', { text });
      addMessage(res?.message || (hasSeq(res) ? res : null));
      pollActive();
    } catch (e) {
      if (e.status === 401) return;
      if (e.status === 404) { endActive('Die Kundin oder der Kunde hat das Gespräch gelöscht.'); return; }
      ui.input.value = text; // nothing is lost
      showAlert(e.status === 429 ? 'Zu viele Nachrichten in kurzer Zeit – bitte einen Moment warten.'
        : detailText(e.detail) || 'Die Nachricht wurde nicht gesendet. Bitte versuchen Sie es noch einmal.');
    }
  }

  ui.chatForm.addEventListener('submit', (e) => { e.preventDefault(); sendReply(); });
  ui.input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendReply(); }
  });
  ui.handback.addEventListener('click', async () => {
    try {
      await act('handback');
      endActive('Das Gespräch wurde an den Assistenten zurückgegeben.');
    } catch (e) { if (e.status !== 401) showAlert('Die Rückgabe an den Assistenten hat nicht geklappt. Bitte noch einmal versuchen.'); }
  });
  ui.close.addEventListener('click', async () => {
    if (!window.confirm('Gespräch wirklich beenden? Die Kundin oder der Kunde kann danach nicht mehr antworten.')) return;
    try {
      await act('close');
      endActive('Das Gespräch wurde beendet.');
    } catch (e) { if (e.status !== 401) showAlert('Das Gespräch konnte nicht beendet werden. Bitte noch einmal versuchen.'); }
  });

  // ---- WhatsApp and Messenger: the messaging window and what is possible once it closed -------

  async function loadWindow() {
    const id = S.active;
    if (!id || !S.channel || S.channel === 'web') return;
    try {
      const w = await api('GET', `/api/v1/agent/conversations/${encodeURIComponent(id)}/window`);
      if (id !== S.active) return;
      ui.window.textContent = w.description;
      ui.window.hidden = false;
      ui.window.classList.toggle('chat-window--closed', !w.open);
      ui.closed.hidden = w.open;
      ui.input.disabled = !w.open;
      ui.templateBox.hidden = !(w.alternatives || []).includes('template') || !(w.templates || []).length;
      ui.template.replaceChildren(...(w.templates || []).map((t) => h('option', { value: t, text: t })));
    } catch { /* next minute */ }
  }
  setInterval(() => { if (!document.hidden && !stopped) loadWindow(); }, 60000);

  ui.templateSend.addEventListener('click', async () => {
    try {
      const res = await act('template', { name: ui.template.value });
      addMessage(res?.message);
    } catch (e) { if (e.status !== 401) showAlert(detailText(e.detail) || 'Die Vorlage wurde nicht gesendet.'); }
  });
  ui.callback.addEventListener('click', async () => {
    const concern = ui.callbackConcern.value.trim();
    if (!concern) { ui.callbackConcern.focus(); return; }
    try {
      await act('callback', { concern });
      ui.callbackConcern.value = '';
      showAlert('Der Rückruf ist angelegt.');
      loadTickets();
    } catch (e) { if (e.status !== 401) showAlert(detailText(e.detail) || 'Der Rückruf konnte nicht angelegt werden.'); }
  });
  ui.block.addEventListener('click', async () => {
    if (!window.confirm('Chat beenden und den Kontakt sperren? Die Nachrichten bleiben gespeichert; der Kontakt erhält bis zum Ende der Sperre keine Antwort und kommt nicht in die Warteschlange.')) return;
    try {
      const res = await act('block', {});
      endActive(res?.detail || 'Der Kontakt ist gesperrt.');
    } catch (e) { if (e.status !== 401) showAlert(detailText(e.detail) || 'Die Sperre hat nicht geklappt.'); }
  });

  // ---- the agent's public profile (alias and avatar) ----------------------------------------------

  const AVATAR_NAMES = { blatt: 'Blatt', sonne: 'Sonne', welle: 'Welle', stern: 'Stern', tropfen: 'Tropfen', berg: 'Berg' };
  const profile = { form: $('profile-form'), alias: $('profile-alias'), avatar: $('profile-avatar'), preview: $('profile-preview'), status: $('profile-status') };
  function showAvatar() {
    const a = profile.avatar.value;
    profile.preview.hidden = !a;
    if (a) profile.preview.src = `/static/avatars/${a}.svg`;
  }
  async function loadProfile() {
    try {
      const p = await api('GET', '/api/v1/agent/profile');
      profile.avatar.replaceChildren(h('option', { value: '', text: 'kein Bild' }),
        ...(p.avatars || []).map((a) => h('option', { value: a, text: AVATAR_NAMES[a] || a })));
      profile.alias.value = p.alias || '';
      profile.avatar.value = p.avatar || '';
      showAvatar();
    } catch { /* optional */ }
  }
  profile.avatar.addEventListener('change', showAvatar);
  profile.form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const p = await api('PUT', '/api/v1/agent/profile', { alias: profile.alias.value, avatar: profile.avatar.value || null });
      profile.status.textContent = `Gespeichert: Sie erscheinen als „${p.public_name}“.`;
    } catch (err) { if (err.status !== 401) profile.status.textContent = detailText(err.detail) || 'Nicht gespeichert.'; }
  });

  // ---- mentions ("Erwähnungen") -------------------------------------------------------------------

  async function loadMentions() {
    try {
      const items = listOf(await api('GET', '/api/v1/agent/mentions'), 'mentions');
      ui.mentionsCount.textContent = String(items.length);
      ui.mentionsEmpty.hidden = items.length > 0;
      ui.mentionsList.replaceChildren(...items.map((m) => {
        const link = /^https?:\/\//i.test(m.link || '') ? h('a', { href: m.link, target: '_blank', rel: 'noopener noreferrer', text: m.title || m.link }) : h('span', { text: m.title || '' });
        const done = h('button', { type: 'button', class: 'btn btn--ghost', text: 'Erledigt' });
        done.addEventListener('click', async () => {
          try { await api('POST', `/api/v1/agent/mentions/${encodeURIComponent(m.key)}/done`); loadMentions(); } catch { /* stays */ }
        });
        return h('li', { class: 'mention' },
          h('p', {}, link),
          h('p', { class: 'muted small', text: `${m.feed_name || ''}${m.published_at ? ` · ${dateTime.format(Date.parse(m.published_at))}` : ''}` }),
          m.summary ? h('p', { text: m.summary }) : null,
          h('p', { class: 'small', text: `Thema: ${m.topic_title || 'keines erkannt'}` }),
          done);
      }));
    } catch { /* the console works without them */ }
  }
  setInterval(() => { if (!document.hidden && !stopped) loadMentions(); }, TICKETS_MS);

  // ---- canned replies ---------------------------------------------------------------------------

  let canned = [];
  async function loadCanned() {
    try {
      canned = listOf(await api('GET', '/api/v1/agent/canned'), 'replies').filter((c) => c && c.text);
      ui.canned.replaceChildren(h('option', { value: '', text: '– Textbaustein wählen –' }),
        ...canned.map((c, i) => h('option', { value: String(i), text: c.title || c.text.slice(0, 60) })));
    } catch { /* the console works without them */ }
  }
  // Inserting needs the button (not the select's change event): WCAG 3.2.2, and the text can be edited before sending.
  ui.cannedInsert.addEventListener('click', () => {
    const reply = canned[Number(ui.canned.value)];
    if (ui.canned.value === '' || !reply) { ui.canned.focus(); return; }
    ui.input.value = ui.input.value.trim() ? `${ui.input.value.trimEnd()}\n${reply.text}` : reply.text;
    ui.input.focus();
    ui.input.setSelectionRange(ui.input.value.length, ui.input.value.length);
  });

  // ---- tickets ----------------------------------------------------------------------------------

  function contactLink(contact) {
    const c = String(contact ?? '');
    if (/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(c)) return h('a', { href: `mailto:${c}`, text: c });
    if (/^\+?[\d\s()/-]{6,}$/.test(c)) return h('a', { href: `tel:${c.replace(/[^\d+]/g, '')}`, text: c });
    return c;
  }

  async function loadTickets() {
    try {
      const tickets = listOf(await api('GET', '/api/v1/agent/tickets'), 'tickets')
        .sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)));
      ui.ticketsEmpty.hidden = tickets.length > 0;
      ui.ticketsTable.hidden = tickets.length === 0;
      ui.ticketsBody.replaceChildren(...tickets.map((t) => {
        const created = Date.parse(t.created_at);
        return h('tr', {},
          h('td', { text: Number.isNaN(created) ? '–' : dateTime.format(created) }),
          h('td', { text: t.name || '–' }),
          h('td', {}, contactLink(t.contact)),
          h('td', { class: 'concern', text: t.concern || '' }),
          h('td', { text: t.done_at ? 'erledigt' : 'offen' }));
      }));
    } catch { /* keep the last list */ }
  }
  ui.ticketsRefresh.addEventListener('click', loadTickets);
  setInterval(() => { if (!document.hidden && !stopped) loadTickets(); }, TICKETS_MS);

  // ---- live updates -----------------------------------------------------------------------------

  function setConnection(live) {
    const text = live ? 'Live-Verbindung aktiv.' : 'Live-Verbindung unterbrochen – die Ansicht wird alle 3 Sekunden aktualisiert.';
    if (ui.connection.textContent !== text) ui.connection.textContent = text;
    ui.connection.classList.toggle('connection--down', !live);
  }

  function connectWs() {
    if (stopped || S.ws || !('WebSocket' in window)) return;
    const url = new URL('/api/v1/agent/ws', location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    let ws;
    try { ws = new WebSocket(url); } catch { scheduleWs(); return; }
    S.ws = ws;
    ws.onopen = () => { S.wsOpen = true; S.backoff = 1000; setConnection(true); loadQueue(); pollActive(); };
    ws.onmessage = (ev) => {
      let data;
      try { data = JSON.parse(ev.data); } catch { return; }
      if (data.type === 'queue') {
        const items = listOf(data, 'queue');
        if (items.some((i) => !i.summary)) loadQueue(); // an event without summaries: fetch them
        else renderQueue(items);
      }
      else if (data.type === 'message' && String(data.conversation_id) === S.active) addMessage(data.message);
      else if (data.type === 'ticket') loadTickets();
    };
    ws.onclose = (ev) => {
      S.ws = null;
      S.wsOpen = false;
      if (ev.code === 4401) { loggedOut(); return; } // session expired: reconnecting cannot help
      setConnection(false);
      scheduleWs();
    };
  }
  function scheduleWs() {
    if (stopped) return;
    clearTimeout(S.wsTimer);
    S.wsTimer = setTimeout(connectWs, S.backoff * (0.5 + Math.random() / 2));
    S.backoff = Math.min(S.backoff * 2, 30000);
  }
  function closeWs() {
    clearTimeout(S.wsTimer);
    if (S.ws) { S.ws.onclose = null; S.ws.close(); }
    S.ws = null;
    S.wsOpen = false;
  }

  // Polling while the WebSocket is down; the claimed conversation also every 15 s while it is up,
  // because a customer deleting the chat is not announced on the agents' channel.
  let ticks = 0;
  setInterval(() => {
    ticks += 1;
    if (stopped || document.hidden) return;
    if (!S.wsOpen) loadQueue();
    if (!S.wsOpen || ticks % 5 === 0) pollActive();
  }, POLL_MS);

  // ---- start ------------------------------------------------------------------------------------

  setActive(S.active);
  setConnection(false);
  loadQueue();
  loadCanned();
  loadTickets();
  loadMentions();
  loadProfile();
  if (S.active) pollActive();
  connectWs();
})();
