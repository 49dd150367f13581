/*
 * Chat widget of the Stadtwerk assistant.
 *
 * Embedded by one tag: <script src="/static/widget.js" defer data-page="preisbremsen" data-api=""></script>
 * data-page selects the start topics (config.start_topics[page], else "default"); data-api is the
 * base URL of the chat API (empty: same origin). No framework and no build step: the file is
 * served as written. APIs: shared/contracts.md §3 and docs/design/web-app.md ("JSON shapes").
 *
 * Security rule: message text reaches the DOM only as textContent or through setServerHtml(): the
 * message's `html`, rendered and sanitised on the server (bot/content/markdown.py). The widget has
 * no Markdown renderer of its own.
 */
(() => {
  'use strict';
  if (window.StadtwerkChat) return; // a second script tag must not build a second widget

  const script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  // The API accepts page names of a-z, 0-9, "_" and "-" only: tidy the attribute, never fail on it.
  const PAGE = (script?.dataset.page || 'default').toLowerCase().replace(/[^a-z0-9_-]/g, '').slice(0, 100) || 'default';
  const API = (script?.dataset.api || '').replace(/\/+$/, '');
  const KEY_ID = 'stadtwerk-chat-id';
  const KEY_READ = 'stadtwerk-chat-read'; // highest seq the customer has seen (unread badge, all tabs)
  const KEY_PRIVACY = 'stadtwerk-chat-privacy';
  const KEY_FEEDBACK = 'stadtwerk-chat-feedback'; // seqs already rated (feedback is sent once)
  const KEY_CALLBACK = 'stadtwerk-chat-callback'; // seq whose callback form was sent
  const MAX_LEN = 1000; // the API answers 422 above this (contract §3)
  const POLL_MS = 3000;

  const T = {
    launcher: 'Chat',
    title: (name) => `${name} – Chat-Assistent`,
    close: 'Chat schließen',
    privacyTitle: 'Hinweis zum Datenschutz',
    privacy: 'Hier antwortet zunächst ein digitaler Assistent. Wir speichern Ihre Nachrichten, um Ihre '
      + 'Fragen zu beantworten, und löschen sie nach einer festen Frist automatisch. Bitte geben Sie '
      + 'keine Bankdaten oder Passwörter ein. Sie können den Chat jederzeit beenden und löschen.',
    privacyLink: 'Mehr in unserer Datenschutzerklärung',
    privacyOk: 'Verstanden',
    greeting: (name) => `Hallo! Ich bin der digitale Assistent der ${name}. Ich helfe Ihnen bei Fragen `
      + 'zu den Energiepreisbremsen, zur Dezember-Soforthilfe, zur Mehrwertsteuer auf Gas und Wärme '
      + 'und zu Ihrem Abschlag.\n\nWählen Sie ein Thema oder schreiben Sie Ihre Frage.',
    label: 'Ihre Nachricht',
    send: 'Senden',
    end: 'Chat beenden und löschen',
    confirm: 'Möchten Sie den Chat wirklich beenden? Der gesamte Verlauf wird dauerhaft gelöscht.',
    confirmYes: 'Ja, Chat löschen',
    confirmNo: 'Abbrechen',
    deleted: 'Der Chat wurde beendet und gelöscht.',
    deleteFailed: 'Der Chat konnte gerade nicht gelöscht werden. Bitte versuchen Sie es gleich noch einmal.',
    typingBot: 'Der Assistent schreibt …',
    typingAgent: 'Der Kundenservice schreibt …',
    network: 'Die Verbindung ist gerade gestört. Ihre Nachricht wurde nicht gesendet – bitte versuchen '
      + 'Sie es gleich noch einmal.',
    slowDown: 'Bitte einen Moment Geduld … Sie haben gerade viele Nachrichten geschickt. Versuchen Sie '
      + 'es in ein paar Sekunden noch einmal.',
    invalid: 'Diese Nachricht kann so nicht gesendet werden. Bitte prüfen Sie Ihre Eingabe.',
    retry: 'Erneut senden',
    notSent: 'Nicht gesendet',
    queued: (n) => (n ? `Sie sind an Position ${n} in der Warteschlange.`
      : 'Sie sind in der Warteschlange. Gleich ist jemand für Sie da.'),
    withAgent: 'Sie sind mit unserem Kundenservice verbunden.',
    closed: 'Dieser Chat wurde beendet. Mit Ihrer nächsten Nachricht beginnt ein neuer Chat.',
    who: { customer: 'Sie:', bot: 'Assistent:', system: 'Hinweis:' },
    agent: (name) => `${name || 'Mitarbeiterin oder Mitarbeiter'} vom Kundenservice`,
    replies: 'Antwortvorschläge',
    fbQ: 'War diese Antwort hilfreich?',
    fbUp: 'Hilfreich',
    fbDown: 'Nicht hilfreich',
    thanks: 'Danke für Ihr Feedback',
    fbFail: 'Das Feedback konnte nicht gesendet werden. Bitte versuchen Sie es später noch einmal.',
    counter: (n) => `${n} von ${MAX_LEN} Zeichen`,
    limit: `Sie haben die Höchstlänge von ${MAX_LEN} Zeichen erreicht.`,
    unread: (n) => (n === 1 ? '1 ungelesene Nachricht' : `${n} ungelesene Nachrichten`),
    cbTitle: 'Rückruf oder Antwort per E-Mail anfordern',
    cbName: 'Ihr Name',
    cbContact: 'Telefonnummer oder E-Mail-Adresse',
    cbConcern: 'Ihr Anliegen',
    cbSend: 'Anfrage senden',
    cbErrName: 'Bitte geben Sie Ihren Namen an.',
    cbErrContact: 'Bitte geben Sie eine Telefonnummer oder E-Mail-Adresse an, damit wir Sie erreichen können.',
    cbErrContactFormat: 'Bitte prüfen Sie die Angabe: Sie sieht weder wie eine Telefonnummer noch wie eine '
      + 'E-Mail-Adresse aus (Beispiele: 0301 234567 oder name@beispiel.de).',
    cbErrConcern: 'Bitte beschreiben Sie kurz Ihr Anliegen.',
    cbFail: 'Ihre Anfrage konnte gerade nicht gesendet werden. Bitte versuchen Sie es gleich noch einmal.',
    cbSent: 'Vielen Dank, Ihre Anfrage wurde gesendet.',
    cbDone: (hours) => `Vielen Dank! Wir haben Ihre Anfrage erhalten und melden uns zu unseren Servicezeiten${hours ? ` (${hours})` : ''} bei Ihnen.`,
  };

  /**
   * The only place that writes innerHTML: a message's `html`, its Markdown rendered and sanitised
   * once on the server (bot/content/markdown.py: an allow-list of tags, safe link targets only).
   * A message without it (never sent by this server) shows its text as plain text.
   */
  function setServerHtml(el, html, text) {
    if (typeof html === 'string') el.innerHTML = html;
    else el.textContent = text || '';
  }

  /** A link target from the config: a path on this site or an http(s) address, nothing else. */
  function safeHref(url) {
    // Backslashes and control characters: browsers read "/\evil.example" as "//evil.example".
    return !/[\\\s\u0000-\u001f]/.test(url) && /^(\/(?!\/)|https?:\/\/[^/])/i.test(url);
  }

  // ---- small helpers ----------------------------------------------------------------------------

  const memory = {}; // used when localStorage is blocked (private mode, strict settings)
  const store = {
    get(k) { try { return localStorage.getItem(k); } catch { return memory[k] ?? null; } },
    set(k, v) { try { localStorage.setItem(k, v); } catch { memory[k] = String(v); } },
    /** Remove the given keys; without keys every key of this widget (privacy acceptance too). */
    wipe(keys) {
      try {
        (keys || Object.keys(localStorage).filter((k) => k.startsWith('stadtwerk-chat'))).forEach((k) => localStorage.removeItem(k));
      } catch { /* blocked */ }
      (keys || Object.keys(memory)).forEach((k) => delete memory[k]);
    },
  };
  const CONVERSATION_KEYS = [KEY_ID, KEY_READ, KEY_FEEDBACK, KEY_CALLBACK];
  const readList = (key) => { try { return JSON.parse(store.get(key) || '[]'); } catch { return []; } };

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

  /** JSON request to the chat API. Network failures reject with a TypeError, HTTP errors with HttpError. */
  async function api(method, path, body) {
    const res = await fetch(API + path, {
      method,
      headers: body ? { 'Content-Type': 'application/json', Accept: 'application/json' } : { Accept: 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!res.ok) {
      let detail = null;
      try { detail = (await res.json()).detail; } catch { /* not JSON */ }
      throw new HttpError(res.status, detail);
    }
    return res.status === 204 ? null : res.json();
  }

  /** FastAPI's detail is a string or a list of {msg}; both carry German reasons from the backend. */
  const detailText = (d) => (typeof d === 'string' ? d : Array.isArray(d) ? d.map((x) => x?.msg).filter(Boolean).join(' ') : '');
  const conv = (suffix = '') => `/api/v1/conversations/${encodeURIComponent(S.id)}${suffix}`;
  const hasSeq = (m) => Number.isFinite(m?.seq);

  // Only #rgb/#rrggbb colours with enough contrast replace the defaults (WCAG 1.4.3 must hold
  // whatever the configuration says).
  function luminance(hex) {
    const v = hex.length === 4 ? [...hex.slice(1)].map((c) => parseInt(c + c, 16)) : [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
    const [r, g, b] = v.map((c) => { const s = c / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }
  function contrast(a, b) {
    const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  }

  // ---- state ------------------------------------------------------------------------------------

  const S = {
    config: { brand: { name: 'Stadtwerke' }, privacy_url: '/datenschutz', start_topics: {} },
    id: store.get(KEY_ID),
    seen: new Set(), // seqs rendered (de-duplication of POST answers, WebSocket and polling)
    others: new Set(), // seqs of bot/agent/system messages (unread badge)
    maxSeq: 0,
    cursor: 0, // "after" for polling: advanced only by GET answers, which are complete up to then
    readSeq: Number(store.get(KEY_READ) || 0),
    pending: [], // customer messages shown before their stored copy (with seq) came back
    state: 'bot',
    open: false,
    ws: null,
    wsOpen: false,
    wsTimer: 0,
    backoff: 1000,
    polling: false,
    pollAgain: false,
    chain: Promise.resolve(), // sends run one after another, so the server keeps their order
    stick: true, // keep the log scrolled to the end unless the reader scrolled up
    lastTyping: 0,
    typingTimer: 0,
  };

  // ---- DOM --------------------------------------------------------------------------------------

  const ui = {};
  /** A decorative icon (inline SVG: no emoji font or image request needed). */
  function icon(d) {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    const path = document.createElementNS(ns, 'path');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    path.setAttribute('d', d);
    svg.append(path);
    return svg;
  }
  const ICON_CHAT = 'M4 4h16a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z';
  const ICON_THUMB = 'M2 21h4V9H2v12zm20-11a2 2 0 0 0-2-2h-6.3l1-4.6v-.3a1.5 1.5 0 0 0-.4-1L13.2 1 6.6 7.6A2 2 0 0 0 6 9v10a2 2 0 0 0 2 2h9a2 2 0 0 0 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z';

  function build() {
    const svg = icon(ICON_CHAT);

    ui.badge = h('span', { class: 'swc-badge', hidden: true });
    ui.launcher = h('button', {
      type: 'button', class: 'swc-launcher', 'aria-expanded': 'false', 'aria-controls': 'swc-panel',
      onclick: () => setOpen(!S.open),
    }, svg, h('span', { text: T.launcher }), ui.badge);

    ui.title = h('h2', { id: 'swc-title', class: 'swc-title', text: T.title(S.config.brand.name) });
    const close = h('button', { type: 'button', class: 'swc-close', 'aria-label': T.close, onclick: () => setOpen(false) },
      h('span', { 'aria-hidden': 'true', text: '×' }));

    ui.privacyLink = h('a', { href: S.config.privacy_url, text: T.privacyLink });
    ui.privacyOk = h('button', { type: 'button', class: 'swc-btn', text: T.privacyOk, onclick: acceptPrivacy });
    ui.privacy = h('section', { class: 'swc-privacy', 'aria-labelledby': 'swc-privacy-title' },
      h('h3', { id: 'swc-privacy-title', text: T.privacyTitle }), h('p', { text: T.privacy }),
      h('p', {}, ui.privacyLink), ui.privacyOk);

    ui.status = h('p', { class: 'swc-status', role: 'status' });
    ui.log = h('div', {
      class: 'swc-log', role: 'log', 'aria-live': 'polite', 'aria-label': 'Chatverlauf', tabindex: '0',
      onscroll: () => { S.stick = ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 64; },
    });
    ui.typingText = h('span');
    // Always in the DOM (a live region that appears together with its text is often not read out);
    // without the --on class it collapses to nothing.
    ui.typing = h('p', { class: 'swc-typing', role: 'status' },
      h('span', { class: 'swc-dots', 'aria-hidden': 'true' }, h('span'), h('span'), h('span')), ui.typingText);
    ui.noticeText = h('p');
    ui.retry = h('button', { type: 'button', class: 'swc-btn swc-btn--small', text: T.retry });
    ui.notice = h('div', { class: 'swc-notice', role: 'alert', hidden: true }, ui.noticeText, ui.retry);

    ui.input = h('textarea', {
      id: 'swc-input', name: 'message', rows: '2', maxlength: String(MAX_LEN), 'aria-describedby': 'swc-counter',
      enterkeyhint: 'send', autocomplete: 'off',
      oninput: onInput,
      onkeydown: (e) => { // Enter sends, Shift+Enter makes a new line
        if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); submitInput(); }
      },
    });
    ui.counter = h('p', { id: 'swc-counter', class: 'swc-counter' });
    ui.limitLive = h('p', { class: 'sr-only', 'aria-live': 'polite' });
    ui.form = h('form', { class: 'swc-form', onsubmit: (e) => { e.preventDefault(); submitInput(); } },
      h('label', { for: 'swc-input', class: 'swc-label', text: T.label }),
      h('div', { class: 'swc-row' }, ui.input, h('button', { type: 'submit', class: 'swc-btn', text: T.send })),
      ui.counter, ui.limitLive);

    ui.end = h('button', { type: 'button', class: 'swc-link', text: T.end, onclick: () => showConfirm(true) });
    ui.confirmNo = h('button', { type: 'button', class: 'swc-btn swc-btn--ghost', text: T.confirmNo, onclick: () => showConfirm(false) });
    ui.confirm = h('div', { class: 'swc-confirm', hidden: true },
      h('p', { id: 'swc-confirm-text', text: T.confirm }),
      h('div', { class: 'swc-row' },
        h('button', { type: 'button', class: 'swc-btn swc-btn--danger', text: T.confirmYes, 'aria-describedby': 'swc-confirm-text', onclick: endChat }),
        ui.confirmNo));

    ui.panel = h('section', {
      id: 'swc-panel', class: 'swc-panel', role: 'dialog', 'aria-modal': 'false', 'aria-labelledby': 'swc-title', hidden: true,
    },
    h('header', { class: 'swc-header' }, ui.title, close),
    ui.privacy, ui.status, ui.log, ui.typing, ui.notice, ui.form,
    ui.footer = h('footer', { class: 'swc-footer' }, ui.end, ui.confirm));

    ui.root = h('div', {
      class: 'swc-root',
      onkeydown: (e) => {
        if (e.key !== 'Escape' || !S.open) return;
        if (!ui.confirm.hidden) showConfirm(false); else setOpen(false);
      },
    }, ui.launcher, ui.panel);
    hideTyping();
    refreshPrivacy();
    refreshFooter();
    document.body.append(ui.root);
  }

  // ---- panel ------------------------------------------------------------------------------------

  function setOpen(open) {
    S.open = open;
    ui.panel.hidden = !open;
    ui.launcher.setAttribute('aria-expanded', String(open));
    ui.root.classList.toggle('swc-is-open', open);
    if (open) {
      loadConfig().then(renderIntro);
      markRead();
      if (S.id) poll();
      S.stick = true;
      scrollToEnd();
      focusPanel();
    } else {
      if (!ui.confirm.hidden) showConfirm(false, false);
      ui.launcher.focus();
    }
  }

  const privacyAccepted = () => store.get(KEY_PRIVACY) === '1';
  /** "Chat beenden und löschen" only when there is something stored to delete. */
  const refreshFooter = () => { ui.footer.hidden = !S.id; };
  /** The first thing to do in the panel: read the privacy notice, or write. */
  const focusPanel = () => (ui.privacy.hidden ? ui.input : ui.privacyOk).focus();
  function refreshPrivacy() {
    const ok = privacyAccepted();
    ui.privacy.hidden = ok;
    ui.form.hidden = !ok; // nothing is sent before the customer has seen the notice
  }
  function acceptPrivacy() {
    store.set(KEY_PRIVACY, '1');
    refreshPrivacy();
    renderIntro();
    ui.input.focus();
  }

  /** Inline confirmation (no window.confirm: it blocks the page and cannot be styled or zoomed well). */
  function showConfirm(show, focus = true) {
    ui.confirm.hidden = !show;
    ui.end.hidden = show;
    if (focus) (show ? ui.confirmNo : ui.end).focus();
  }

  function scrollToEnd() { if (S.stick) ui.log.scrollTop = ui.log.scrollHeight; }

  let configPromise = null;
  function loadConfig() {
    configPromise ||= api('GET', '/api/v1/config').then((c) => {
      S.config = { ...S.config, ...c, brand: { ...S.config.brand, ...(c?.brand || {}) } };
      ui.title.textContent = T.title(S.config.brand.name);
      if (safeHref(S.config.privacy_url || '')) ui.privacyLink.href = S.config.privacy_url;
      const { primary, on_primary: onPrimary } = S.config.brand.colors || {};
      const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i;
      if (hex.test(primary || '') && hex.test(onPrimary || '') && contrast(primary, onPrimary) >= 4.5 && contrast(primary, '#ffffff') >= 4.5) {
        ui.root.style.setProperty('--swc-primary', primary);
        ui.root.style.setProperty('--swc-on-primary', onPrimary);
      }
    }).catch(() => { configPromise = null; }); // defaults stay; the next opening tries again
    return configPromise;
  }

  /** The page-aware greeting: shown locally (not stored) while no conversation exists. */
  function renderIntro() {
    if (!privacyAccepted() || S.id || ui.log.querySelector('.swc-msg')) return;
    const topics = S.config.start_topics?.[PAGE] || S.config.start_topics?.default || [];
    const el = renderMessage({ sender: 'bot', text: T.greeting(S.config.brand.name), buttons: topics });
    el.classList.add('swc-intro');
    ui.log.append(el);
  }

  // ---- messages ---------------------------------------------------------------------------------

  /** Insert in seq order; elements without seq (greeting, pending) keep their place. */
  function place(el, seq) {
    const after = Number.isFinite(seq)
      ? [...ui.log.children].find((c) => c.dataset.seq && Number(c.dataset.seq) > seq) : null;
    ui.log.insertBefore(el, after || null);
  }

  function addMessage(m) {
    if (!m || typeof m !== 'object') return;
    if (m.sender !== 'customer') hideTyping(); // also for a duplicate: the answer is there
    if (hasSeq(m)) {
      if (S.seen.has(m.seq)) return;
      S.seen.add(m.seq);
      S.maxSeq = Math.max(S.maxSeq, m.seq);
    }
    if (m.sender === 'customer' && hasSeq(m) && S.pending.length) {
      // Our own message came back with its seq: adopt the bubble already shown. Prefer the bubble
      // with the same text; the stored text may differ (masked IBAN, phone), then take the oldest.
      const i = Math.max(0, S.pending.findIndex((p) => p.text === m.text));
      const [p] = S.pending.splice(i, 1);
      p.el.dataset.seq = m.seq;
      p.bubble.textContent = m.text || p.text; // show what was stored (masked)
      place(p.el, m.seq);
      return;
    }
    if (m.sender !== 'customer' && hasSeq(m)) S.others.add(m.seq);
    place(renderMessage(m), m.seq);
  }

  function renderMessage(m) {
    const sender = ['customer', 'bot', 'agent', 'system'].includes(m.sender) ? m.sender : 'bot';
    const el = h('div', { class: `swc-msg swc-msg--${sender}` });
    if (hasSeq(m)) el.dataset.seq = m.seq;
    if (m.handoff) el.dataset.handoff = m.handoff;
    // Who speaks: visible for a person from customer service, for screen readers always.
    el.append(sender === 'agent' ? h('p', { class: 'swc-who' },
      // The agent's public avatar from the shipped set (a name of letters only, never a URL).
      /^[a-z]{1,30}$/.test(m.agent_avatar || '') ? h('img', { class: 'swc-avatar', src: `${API}/static/avatars/${m.agent_avatar}.svg`, alt: '', width: '24', height: '24' }) : null,
      T.agent(m.agent_name))
      : h('span', { class: 'sr-only', text: T.who[sender] }));
    const bubble = h('div', { class: 'swc-bubble' });
    if (sender === 'customer') bubble.textContent = m.text || ''; // customers' text: never HTML
    else setServerHtml(bubble, m.html, m.text);
    el.append(bubble);
    const buttons = Array.isArray(m.buttons) ? m.buttons.filter((b) => b && b.payload) : [];
    if (buttons.length) {
      el.append(h('div', { class: 'swc-replies', role: 'group', 'aria-label': T.replies },
        ...buttons.map((b) => {
          const title = String(b.title || b.payload);
          // The title goes along so that the stored customer message reads like the button.
          return h('button', { type: 'button', class: 'swc-reply', text: title, onclick: () => { send({ payload: b.payload, title }, title); ui.input.focus(); } });
        })));
    }
    if (m.faq_id && hasSeq(m)) el.append(renderFeedback(m));
    return el;
  }

  /** Everything that depends on the whole log; called after each batch of messages. */
  function afterBatch() {
    // Quick replies only make sense until the customer answers: hide older ones.
    const customers = ui.log.querySelectorAll('.swc-msg--customer');
    const lastCustomer = customers[customers.length - 1];
    ui.log.querySelectorAll('.swc-replies').forEach((g) => {
      g.hidden = Boolean(lastCustomer && (lastCustomer.compareDocumentPosition(g) & Node.DOCUMENT_POSITION_PRECEDING));
    });
    // The callback form belongs to the newest "offline" answer, until it was sent.
    const offline = [...ui.log.querySelectorAll('.swc-msg[data-handoff="offline"]')].pop();
    ui.log.querySelectorAll('.swc-callback').forEach((f) => { if (f.parentElement !== offline) f.remove(); });
    if (offline && store.get(KEY_CALLBACK) !== offline.dataset.seq && !offline.querySelector('.swc-callback, .swc-cb-done')) {
      offline.append(renderCallback(offline.dataset.seq));
    }
    if (S.open) markRead(); else updateBadge();
    scrollToEnd();
  }

  function markRead() {
    if (S.maxSeq > S.readSeq) { S.readSeq = S.maxSeq; store.set(KEY_READ, String(S.readSeq)); }
    updateBadge();
  }

  function updateBadge() {
    const n = S.open ? 0 : [...S.others].filter((s) => s > S.readSeq).length;
    ui.badge.hidden = n === 0;
    ui.badge.replaceChildren(h('span', { 'aria-hidden': 'true', text: String(n) }), h('span', { class: 'sr-only', text: T.unread(n) }));
  }

  function applyState(res) {
    if (!res?.state) return;
    S.state = res.state;
    const text = { queued: T.queued(res.queue_position), agent: T.withAgent, closed: T.closed }[S.state] || '';
    if (ui.status.textContent !== text) ui.status.textContent = text;
  }

  function showTyping(text, ms = 30000) {
    ui.typingText.textContent = text;
    ui.typing.classList.add('swc-typing--on');
    clearTimeout(S.typingTimer);
    S.typingTimer = setTimeout(hideTyping, ms); // never spin forever if the answer got lost
    scrollToEnd();
  }
  function hideTyping() {
    clearTimeout(S.typingTimer);
    ui.typing.classList.remove('swc-typing--on');
    ui.typingText.textContent = '';
  }

  function showNotice(text, retry) {
    ui.noticeText.textContent = text;
    ui.retry.hidden = !retry;
    ui.retry.onclick = retry ? () => { hideNotice(); retry(); } : null;
    ui.notice.hidden = false;
  }
  function hideNotice() { ui.notice.hidden = true; }

  // ---- sending ----------------------------------------------------------------------------------

  function onInput() {
    const n = ui.input.value.length;
    ui.counter.textContent = n >= MAX_LEN * 0.8 ? T.counter(n) : '';
    ui.counter.classList.toggle('swc-counter--full', n >= MAX_LEN);
    const limit = n >= MAX_LEN ? T.limit : '';
    if (ui.limitLive.textContent !== limit) ui.limitLive.textContent = limit;
    // Tell a person from customer service that the customer is typing (at most every 3 s).
    if (S.wsOpen && S.state === 'agent' && Date.now() - S.lastTyping > 3000) {
      S.lastTyping = Date.now();
      try { S.ws.send(JSON.stringify({ type: 'typing' })); } catch { /* closing */ }
    }
  }

  function submitInput() {
    const text = ui.input.value.trim().slice(0, MAX_LEN);
    if (!text) { ui.input.focus(); return; }
    ui.input.value = '';
    onInput();
    send({ text }, text);
  }

  function send(body, shown) {
    hideNotice();
    const bubble = h('div', { class: 'swc-bubble', text: shown });
    const el = h('div', { class: 'swc-msg swc-msg--customer' }, h('span', { class: 'sr-only', text: T.who.customer }), bubble);
    ui.log.append(el);
    const p = { el, bubble, text: shown };
    S.stick = true;
    afterBatch();
    deliver(p, body);
  }

  /** Queue a send behind earlier ones, so the server stores the messages in the order typed. */
  function deliver(p, body) {
    S.chain = S.chain.then(() => post(p, body));
  }

  async function post(p, body) {
    p.el.classList.remove('swc-msg--failed');
    p.el.querySelector('.swc-failed')?.remove();
    if (S.state === 'closed') { store.wipe(CONVERSATION_KEYS); reset(true); } // begin a new chat
    S.pending.push(p);
    if (S.state !== 'queued' && S.state !== 'agent') showTyping(T.typingBot);
    try {
      let res;
      try {
        await ensureConversation();
        res = await api('POST', conv('/messages'), body);
      } catch (e) {
        if (e.status !== 404 && e.status !== 409) throw e;
        // Gone (retention period, deleted in another tab) or closed meanwhile: start a new one, once.
        store.wipe(CONVERSATION_KEYS);
        reset(true);
        S.pending.push(p);
        await ensureConversation();
        res = await api('POST', conv('/messages'), body);
      }
      (res?.messages || []).forEach(addMessage);
      applyState(res);
      afterBatch();
      poll(); // fetches our own stored message with its seq
    } catch (e) {
      S.pending = S.pending.filter((x) => x !== p);
      if (e.status === 422) { // text rejected: give it back for editing
        p.el.remove();
        if (body.text) { ui.input.value = body.text; onInput(); }
        showNotice(detailText(e.detail) || T.invalid, null);
      } else {
        p.el.classList.add('swc-msg--failed');
        p.el.append(h('p', { class: 'swc-failed', text: T.notSent }));
        // 503: the service is disturbed; its German notice names the phone number.
        const disturbed = e.status === 503 && detailText(e.detail);
        showNotice(e.status === 429 ? T.slowDown : disturbed || T.network, () => deliver(p, body));
        scrollToEnd();
      }
    } finally {
      hideTyping();
    }
  }

  async function ensureConversation() {
    if (S.id) return S.id;
    const res = await api('POST', '/api/v1/conversations', { page: PAGE });
    S.id = res.conversation_id;
    store.set(KEY_ID, S.id);
    S.readSeq = 0;
    store.set(KEY_READ, '0');
    refreshFooter();
    connectWs();
    return S.id;
  }

  // ---- live updates -----------------------------------------------------------------------------

  async function poll() {
    if (!S.id) return;
    if (S.polling) { S.pollAgain = true; return; }
    S.polling = true;
    const id = S.id;
    try {
      const res = await api('GET', conv(`/messages?after=${S.cursor}`));
      if (id !== S.id) return; // the conversation changed meanwhile
      for (const m of res?.messages || []) {
        addMessage(m);
        if (hasSeq(m)) S.cursor = Math.max(S.cursor, m.seq);
      }
      applyState(res);
      afterBatch();
    } catch (e) {
      if (e.status === 404 && id === S.id) { store.wipe(CONVERSATION_KEYS); reset(true); } // deleted or expired
    } finally {
      S.polling = false;
      if (S.pollAgain) { S.pollAgain = false; poll(); }
    }
  }

  // Polling: while the panel is open (belt and braces) or whenever the WebSocket is down.
  setInterval(() => {
    if (S.id && !document.hidden && (S.open || !S.wsOpen)) poll();
  }, POLL_MS);
  document.addEventListener('visibilitychange', () => { if (!document.hidden && S.id) poll(); });

  function connectWs() {
    if (!S.id || S.ws || !('WebSocket' in window)) return;
    const id = S.id;
    const url = new URL(API + conv('/ws'), location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    let ws;
    try { ws = new WebSocket(url); } catch { scheduleWs(); return; }
    S.ws = ws;
    ws.onopen = () => { S.wsOpen = true; S.backoff = 1000; poll(); }; // catch up on the gap
    ws.onmessage = (ev) => {
      let data;
      try { data = JSON.parse(ev.data); } catch { return; }
      if (data.type === 'message') { addMessage(data.message); afterBatch(); }
      else if (data.type === 'state') applyState(data);
      else if (data.type === 'typing' && data.sender !== 'customer') {
        showTyping(data.sender === 'agent' ? T.typingAgent : T.typingBot, 8000);
      }
    };
    ws.onclose = (ev) => {
      S.ws = null;
      S.wsOpen = false;
      if (id !== S.id) return;
      if (ev.code === 4404) poll(); // unknown conversation: the poll's 404 starts afresh
      else scheduleWs();
    };
  }

  /** Reconnect with exponential backoff (1 s … 30 s) and jitter, so a restart is not stampeded. */
  function scheduleWs() {
    clearTimeout(S.wsTimer);
    S.wsTimer = setTimeout(connectWs, S.backoff * (0.5 + Math.random() / 2));
    S.backoff = Math.min(S.backoff * 2, 30000);
  }

  function closeWs() {
    clearTimeout(S.wsTimer);
    if (S.ws) { S.ws.onclose = null; S.ws.close(); }
    S.ws = null;
    S.wsOpen = false;
    S.backoff = 1000;
  }

  // ---- feedback ---------------------------------------------------------------------------------

  function renderFeedback(m) {
    const box = h('div', { class: 'swc-feedback' });
    const thanks = () => {
      const p = h('p', { class: 'swc-done', tabindex: '-1', text: T.thanks });
      box.replaceChildren(p);
      return p;
    };
    if (readList(KEY_FEEDBACK).includes(m.seq)) { thanks(); return box; }
    const error = h('p', { class: 'swc-error', hidden: true, text: T.fbFail });
    const rate = async (helpful) => {
      buttons.forEach((b) => { b.disabled = true; });
      try {
        await api('POST', conv('/feedback'), { faq_id: m.faq_id, content_version: m.content_version ?? null, helpful, seq: m.seq });
        store.set(KEY_FEEDBACK, JSON.stringify([...readList(KEY_FEEDBACK), m.seq]));
        thanks().focus(); // the pressed button is gone: keep the focus nearby
      } catch (e) {
        if (e.status === 409) { // rated before (in another tab): nothing more to do
          store.set(KEY_FEEDBACK, JSON.stringify([...readList(KEY_FEEDBACK), m.seq]));
          thanks().focus();
          return;
        }
        buttons.forEach((b) => { b.disabled = false; });
        error.hidden = false;
      }
    };
    const buttons = [[true, T.fbUp], [false, T.fbDown]].map(([helpful, label]) => h('button', {
      type: 'button', class: `swc-thumb${helpful ? '' : ' swc-thumb--down'}`, 'aria-label': label, title: label,
      onclick: () => rate(helpful),
    }, icon(ICON_THUMB)));
    box.append(h('span', { class: 'swc-fb-q', text: T.fbQ }), ...buttons, error);
    return box;
  }

  // ---- callback form (handoff outside opening hours) --------------------------------------------

  function renderCallback(seq) {
    const id = (name) => `swc-cb-${seq}-${name}`;
    const fields = {};
    const field = (name, label, control) => {
      const error = h('p', { id: id(`${name}-err`), class: 'swc-error', hidden: true });
      control.id = id(name);
      control.name = name;
      control.setAttribute('aria-describedby', error.id);
      fields[name] = { control, error };
      return h('div', { class: 'swc-field' }, h('label', { for: control.id, text: label }), control, error);
    };
    const formError = h('p', { class: 'swc-error', role: 'alert' });
    const form = h('form', { class: 'swc-callback', novalidate: true, 'aria-labelledby': id('title') },
      h('h3', { id: id('title'), text: T.cbTitle }),
      field('name', T.cbName, h('input', { type: 'text', autocomplete: 'name', maxlength: '100' })),
      field('contact', T.cbContact, h('input', { type: 'text', autocomplete: 'email', maxlength: '200' })),
      field('concern', T.cbConcern, h('textarea', { rows: '3', maxlength: String(MAX_LEN) })),
      formError,
      h('button', { type: 'submit', class: 'swc-btn', text: T.cbSend }));

    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const v = Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, f.control.value.trim()]));
      const digits = v.contact.replace(/\D/g, '').length;
      const errors = {
        name: v.name ? '' : T.cbErrName,
        contact: !v.contact ? T.cbErrContact
          : /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v.contact) || (/^\+?[\d\s()/-]+$/.test(v.contact) && digits >= 6) ? '' : T.cbErrContactFormat,
        concern: v.concern ? '' : T.cbErrConcern,
      };
      let first = null;
      for (const [k, f] of Object.entries(fields)) {
        f.error.textContent = errors[k];
        f.error.hidden = !errors[k];
        if (errors[k]) f.control.setAttribute('aria-invalid', 'true'); else f.control.removeAttribute('aria-invalid');
        if (errors[k] && !first) first = f.control;
      }
      formError.textContent = '';
      if (first) { first.focus(); return; }
      try {
        const res = await api('POST', conv('/callback'), v);
        store.set(KEY_CALLBACK, String(seq));
        // The web app confirms with a stored system message (when and how it answers); our own
        // short confirmation replaces the form, so the focus has a place to go.
        const done = h('p', { class: 'swc-done swc-cb-done', role: 'status', tabindex: '-1', text: res?.message ? T.cbSent : T.cbDone(S.config.hours) });
        form.replaceWith(done);
        done.focus();
        if (res?.message) { addMessage(res.message); afterBatch(); }
      } catch (err) {
        formError.textContent = (err.status === 422 && detailText(err.detail)) || (err.status === 429 ? T.slowDown : T.cbFail);
      }
    });
    return form;
  }

  // ---- end, reset, other tabs -------------------------------------------------------------------

  /**
   * Forget the conversation on screen and in memory. With keepUnsent the customer's messages that
   * have no seq yet (being sent, or failed and waiting for "Erneut senden") stay, to go to the new one.
   */
  function reset(keepUnsent = false) {
    closeWs();
    const keep = keepUnsent ? [...ui.log.querySelectorAll('.swc-msg--customer:not([data-seq])')] : [];
    Object.assign(S, { id: null, cursor: 0, maxSeq: 0, readSeq: 0, state: 'bot', pending: [] });
    S.seen.clear();
    S.others.clear();
    ui.log.replaceChildren();
    ui.status.textContent = '';
    hideTyping();
    hideNotice();
    refreshPrivacy();
    renderIntro();
    ui.log.append(...keep);
    updateBadge();
    refreshFooter();
  }

  async function endChat() {
    if (S.id) {
      try {
        await api('DELETE', conv());
      } catch (e) {
        // Keep the id unless the server no longer knows it: without it the data could not be deleted later.
        if (e.status !== 404) { showConfirm(false); showNotice(T.deleteFailed, endChat); return; }
      }
    }
    store.wipe();
    reset();
    showConfirm(false);
    ui.status.textContent = T.deleted;
    focusPanel();
  }

  // Same conversation in every tab: follow another tab that started, switched or deleted one.
  window.addEventListener('storage', (e) => {
    if (e.key && !e.key.startsWith('stadtwerk-chat')) return;
    if (e.key === KEY_READ) { S.readSeq = Number(e.newValue || 0); updateBadge(); return; }
    const id = store.get(KEY_ID);
    if (id !== S.id) {
      reset();
      if (id) {
        ui.log.replaceChildren(); // no greeting: the other tab's transcript follows
        S.id = id;
        S.readSeq = Number(store.get(KEY_READ) || 0);
        refreshFooter();
        poll();
        connectWs();
      }
    }
    refreshPrivacy();
    renderIntro();
  });

  // ---- start ------------------------------------------------------------------------------------

  function start() {
    build();
    loadConfig();
    if (S.id) { poll(); connectWs(); }
    // Any element with data-chat-open (e.g. "Fragen Sie unseren Chat-Assistenten") opens the chat.
    document.querySelectorAll('[data-chat-open]').forEach((el) => { el.hidden = false; });
    document.addEventListener('click', (e) => {
      if (!e.target.closest?.('[data-chat-open]')) return;
      e.preventDefault();
      if (S.open) focusPanel(); else setOpen(true);
    });
    window.StadtwerkChat = { open: () => setOpen(true), close: () => setOpen(false) };
  }

  // Load widget.css (next to this file) before showing anything, so no unstyled launcher flashes.
  window.StadtwerkChat = {};
  const css = h('link', { rel: 'stylesheet', href: new URL('widget.css', script?.src || location.href).href });
  css.addEventListener('load', start, { once: true });
  css.addEventListener('error', start, { once: true });
  document.head.append(css);
})();
