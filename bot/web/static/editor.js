/*
 * Editors' UI (/editor/). The page (templates/editor.html) is a static skeleton; this script fills
 * it from /api/editor/... Every API call sends the session cookie (credentials: same-origin) and
 * the CSRF token from <meta name="csrf-token">. The answer preview is the server's: it fills in the
 * placeholders and the dated note exactly as the assistant does and renders the Markdown as the
 * chat does (POST /api/editor/preview answers `text` and `html`).
 *
 * Security rule as in widget.js: text reaches the DOM as textContent or through setServerHtml().
 *
 * Stable hooks for browser tests (ids unless noted):
 *   status and errors   editor-status (role=status), editor-alert (role=alert), form-problems
 *   navigation          nav-topics, nav-reviews, nav-inbox, nav-checks, nav-training, nav-audit
 *                       (buttons; the shown one has aria-current="page"), reviews-count, inbox-count
 *   topic list          topic-search, filter-measure, filter-expired, filter-low-feedback,
 *                       filter-many-fallbacks, topic-new, topic-list, topic-count; each topic is a
 *                       button id="topic-item-<topic id>" data-testid="topic-item" data-topic-id
 *   topic editor        topic-editor, editor-heading, draft-info, field-id (new topics only),
 *                       field-title, field-measure, field-valid-from, field-valid-to, field-stand,
 *                       field-answer, answer-counter, placeholder-select, placeholder-insert,
 *                       preview (the chat bubble, data-testid="preview"), preview-problems,
 *                       sources-list (rows data-testid="source-row"), source-add, related-list
 *                       (checkboxes data-testid="related-<topic id>"), facets-list (checkboxes
 *                       data-testid="facet-<facet>-<value>"), field-offers-calculation,
 *                       field-questions, questions-counter, error-<field> (per-field messages),
 *                       btn-save-draft, btn-publish ("Veröffentlichen" or "Zur Freigabe senden"),
 *                       btn-discard, btn-close-editor
 *   history             history-body (rows data-testid="history-row" data-version/data-state;
 *                       buttons data-testid="history-diff" and "rollback" = "Auf diese Version
 *                       zurücksetzen"), diff-view, diff-text
 *   reviews             review-list (items data-testid="review" data-revision-id; buttons
 *                       data-testid="review-approve", "review-reject"), reject-dialog,
 *                       reject-note, reject-confirm
 *   inbox               inbox-list (groups data-testid="inbox-group" data-key; buttons
 *                       data-testid="inbox-add" = "Als Variante hinzufügen", "inbox-new-topic",
 *                       "inbox-dismiss", "inbox-excerpt"), variant-dialog, variant-topic,
 *                       variant-text, variant-confirm, variant-cancel, variant-error
 *   checks              checks-run, checks-summary, checks-list (data-testid="check-result")
 *   training            training-current, training-body (rows data-testid="training-run"
 *                       data-state=queued|training|evaluating|live|rejected|failed)
 *   audit               audit-body, audit-more
 *   confirmations       confirm-dialog, confirm-text, confirm-ok, confirm-cancel
 */
(() => {
  'use strict';

  const API = '/api/editor';
  const PREVIEW_DELAY_MS = 300;
  const SEARCH_DELAY_MS = 250;
  const TRAINING_POLL_MS = 3000; // while the training panel is open
  const BACKGROUND_POLL_MS = 15000; // badges (inbox, reviews, a running training) otherwise
  const $ = (id) => document.getElementById(id);

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

  const { h, apiClient, confirmAction } = window.StaffPage; // static/staff.js

  let stopped = false;
  const request = apiClient(API, () => loggedOut());
  /** The API's JSON answer (null for 204); HttpError on failure. */
  const api = async (method, path, body) => (await request(method, path, body)).data;

  const dateTime = new Intl.DateTimeFormat('de-DE', { dateStyle: 'medium', timeStyle: 'short' });
  const dateOnly = new Intl.DateTimeFormat('de-DE', { dateStyle: 'medium' });
  const percent = new Intl.NumberFormat('de-DE', { style: 'percent', maximumFractionDigits: 1 });
  const when = (iso) => (iso ? dateTime.format(new Date(iso)) : '–');
  const day = (iso) => (iso ? dateOnly.format(new Date(`${iso}T12:00:00`)) : '–');

  function status(text) {
    // Re-set so that the same message is announced again.
    ui.status.textContent = '';
    window.setTimeout(() => { ui.status.textContent = text; }, 30);
  }
  function showAlert(text, action) {
    ui.alert.replaceChildren(h('p', { text }), action ? h('p', {}, action) : null);
    ui.alert.hidden = false;
  }
  function clearAlert() { ui.alert.hidden = true; ui.alert.replaceChildren(); }

  /** A German message for any failed call (the API's detail is German already). */
  function errorText(e, fallback) {
    if (e?.status === 403) return e.detail || 'Dafür fehlt Ihnen die Berechtigung. Bitte laden Sie die Seite neu.';
    if (e?.status === 413) return e.detail || 'Die Texte sind zu lang.';
    return (typeof e?.detail === 'string' && e.detail) || fallback || 'Das hat leider nicht geklappt. Bitte versuchen Sie es noch einmal.';
  }

  function loggedOut() {
    if (stopped) return;
    stopped = true;
    showAlert('Ihre Anmeldung ist abgelaufen. Bitte melden Sie sich erneut an. Ungespeicherte Änderungen bitte vorher kopieren.',
      h('a', { href: '/agent/login', text: 'Zur Anmeldung' }));
  }

  const debounce = (fn, ms) => {
    let timer = 0;
    return (...args) => { window.clearTimeout(timer); timer = window.setTimeout(() => fn(...args), ms); };
  };

  // ---- state and elements -----------------------------------------------------------------------

  const S = {
    me: null,
    allTopics: [], // every topic (unfiltered), for related topics and the variant dialog
    current: null, // the topic in the editor (see openTopic)
    placeholders: null,
    previewSeq: 0,
    view: 'topics',
    auditOffset: 0,
    pendingInboxItems: null, // items of "Neues Thema starten", resolved on the first save
    inboxGroups: [],
  };

  const ui = {
    status: $('editor-status'), alert: $('editor-alert'),
    topicList: $('topic-list'), topicCount: $('topic-count'), topicListStatus: $('topic-list-status'),
    search: $('topic-search'), filterMeasure: $('filter-measure'), filterExpired: $('filter-expired'),
    filterLow: $('filter-low-feedback'), filterMany: $('filter-many-fallbacks'),
    editor: $('topic-editor'), empty: $('editor-empty'), heading: $('editor-heading'), draftInfo: $('draft-info'),
    problems: $('form-problems'), form: $('topic-form'),
    wrapId: $('wrap-id'), id: $('field-id'), title: $('field-title'), measure: $('field-measure'),
    validFrom: $('field-valid-from'), validTo: $('field-valid-to'), stand: $('field-stand'),
    answer: $('field-answer'), answerCounter: $('answer-counter'),
    placeholderSelect: $('placeholder-select'), placeholderInsert: $('placeholder-insert'),
    preview: $('preview'), previewButtons: $('preview-buttons'), previewProblems: $('preview-problems'),
    sources: $('sources-list'), sourceAdd: $('source-add'), related: $('related-list'), facets: $('facets-list'),
    offers: $('field-offers-calculation'), questions: $('field-questions'), questionsCounter: $('questions-counter'),
    save: $('btn-save-draft'), publish: $('btn-publish'), discard: $('btn-discard'), close: $('btn-close-editor'),
    historyBody: $('history-body'), diffView: $('diff-view'), diffTitle: $('diff-title'), diffText: $('diff-text'),
  };

  const FIELD_INPUTS = {
    id: ui.id, title: ui.title, measure: ui.measure, valid_from: ui.validFrom, valid_to: ui.validTo,
    stand: ui.stand, answer: ui.answer, sources: ui.sourceAdd, related: ui.related, questions: ui.questions,
    offers_calculation: ui.offers,
  };
  const FIELD_LABELS = {
    id: 'Kennung', title: 'Titel', measure: 'Bereich', valid_from: 'Gültig ab', valid_to: 'Gültig bis',
    stand: 'Stand', answer: 'Antwort', sources: 'Quellen', related: 'Verwandte Themen',
    questions: 'Fragevarianten', offers_calculation: 'Berechnung anbieten', facets: 'Facetten', content: 'Inhalt',
  };

  // ---- views ------------------------------------------------------------------------------------

  const VIEWS = ['topics', 'reviews', 'inbox', 'checks', 'training', 'audit'];
  const LOADERS = {
    topics: () => loadTopics(),
    reviews: () => loadReviews(),
    inbox: () => loadInbox(),
    checks: () => loadChecks(),
    training: () => loadTraining(),
    audit: () => loadAudit(true),
  };

  function showView(name, focus = true) {
    S.view = name;
    for (const v of VIEWS) {
      $(`view-${v}`).hidden = v !== name;
      const button = $(`nav-${v}`);
      if (v === name) button.setAttribute('aria-current', 'page'); else button.removeAttribute('aria-current');
    }
    LOADERS[name]();
    if (focus) $(`${name}-heading`)?.focus();
  }

  // ---- topic list -------------------------------------------------------------------------------

  function filterQuery() {
    const p = new URLSearchParams();
    if (ui.search.value.trim()) p.set('q', ui.search.value.trim().slice(0, 200));
    if (ui.filterMeasure.value) p.set('measure', ui.filterMeasure.value);
    if (ui.filterExpired.checked) p.set('expired', 'true');
    if (ui.filterLow.checked) p.set('low_feedback', 'true');
    if (ui.filterMany.checked) p.set('many_fallbacks', 'true');
    return p.toString();
  }

  async function loadAllTopics() {
    try {
      S.allTopics = (await api('GET', '/topics')).topics || [];
    } catch { /* the filtered list shows the error */ }
  }

  async function loadTopics() {
    try {
      const query = filterQuery();
      const data = await api('GET', `/topics${query ? `?${query}` : ''}`);
      if (!query) S.allTopics = data.topics;
      renderTopics(data.topics || [], data.total);
    } catch (e) {
      if (e.status !== 401) ui.topicListStatus.textContent = errorText(e, 'Die Themen konnten nicht geladen werden.');
    }
  }

  function badge(text, kind) { return h('span', { class: `tag${kind ? ` tag--${kind}` : ''}`, text }); }

  function renderTopics(topics, total) {
    ui.topicCount.textContent = String(topics.length);
    ui.topicListStatus.textContent = topics.length === total
      ? `${total} Themen`
      : `${topics.length} von ${total} Themen passen zu Suche und Filtern.`;
    const selected = S.current?.topicId;
    ui.topicList.replaceChildren(...topics.map((t) => {
      const tags = [];
      if (!t.published) tags.push(badge('noch nicht veröffentlicht', 'warn'));
      if (t.expired) tags.push(badge('abgelaufen', 'warn'));
      if (t.pending) tags.push(badge('wartet auf Freigabe', 'info'));
      if (t.drafts) tags.push(badge(t.drafts === 1 ? 'Entwurf' : `${t.drafts} Entwürfe`, 'info'));
      if (t.low_feedback) tags.push(badge(`Daumen runter: ${percent.format(t.feedback.share_down)}`, 'bad'));
      if (t.many_fallbacks) tags.push(badge(`${t.inbox} Rückfragen`, 'bad'));
      const meta = [t.measure_label, t.version ? `Version ${t.version}` : null, `${t.questions} Fragen`].filter(Boolean).join(' · ');
      return h('li', {},
        h('button', {
          type: 'button', class: 'topic-item', id: `topic-item-${t.id}`, 'data-testid': 'topic-item', 'data-topic-id': t.id,
          'aria-current': t.id === selected ? 'true' : null, onclick: () => openTopic(t.id),
        },
        h('span', { class: 'topic-item__title', text: t.title }),
        h('span', { class: 'topic-item__meta', text: meta }),
        tags.length ? h('span', { class: 'tags' }, ...tags) : null));
    }));
  }

  // ---- the topic editor -------------------------------------------------------------------------

  function emptyDoc() {
    return { title: '', measure: '', valid_from: null, valid_to: null, stand: new Date().toISOString().slice(0, 10),
      answer: '', sources: [{ title: '', url: '' }], related: [], offers_calculation: false, questions: [] };
  }

  /**
   * Open a topic: the user's own open draft if there is one, else the published content.
   * S.current = { topicId, isNew, version, revisionId, baseVersion, state, data }.
   */
  async function openTopic(topicId, { focus = true } = {}) {
    clearAlert();
    let data;
    try {
      data = await api('GET', `/topics/${encodeURIComponent(topicId)}`);
    } catch (e) {
      if (e.status !== 401) showAlert(errorText(e, 'Das Thema konnte nicht geladen werden.'));
      return;
    }
    const own = (data.drafts || []).filter((d) => d.own);
    const mine = own.find((d) => d.state === 'draft' || d.state === 'rejected') || own.find((d) => d.state === 'pending');
    const others = (data.drafts || []).filter((d) => !d.own);
    const doc = mine ? mine.data : data.published;
    S.current = {
      topicId, isNew: false, version: data.version, published: !!data.published,
      revisionId: mine ? mine.id : null, baseVersion: mine ? mine.base_version : data.version,
      state: mine ? mine.state : 'published', fourEyes: data.four_eyes,
    };
    fillForm(doc || emptyDoc());
    const info = [];
    if (mine?.state === 'draft') info.push(`Sie bearbeiten Ihren Entwurf vom ${when(mine.updated_at)} (noch nicht veröffentlicht).`);
    if (mine?.state === 'rejected') info.push(`${mine.reviewer || 'Jemand'} hat Ihre Änderung zurückgewiesen: „${mine.note || ''}“ Bitte überarbeiten und erneut senden.`);
    if (mine?.state === 'pending') info.push('Ihre Änderung wartet auf Freigabe durch eine zweite Person. Sie können sie zurückziehen (verwerfen).');
    if (!mine && data.version) info.push(`Veröffentlicht ist Version ${data.version} (seit ${when(data.published_at)}). Änderungen werden als Entwurf gespeichert.`);
    for (const d of others) info.push(`${d.author} hat einen ${d.state === 'pending' ? 'Entwurf zur Freigabe' : 'Entwurf'} vom ${when(d.updated_at)}.`);
    ui.draftInfo.textContent = info.join(' ');
    ui.heading.textContent = doc?.title ? `Thema: ${doc.title}` : `Thema: ${topicId}`;
    ui.wrapId.hidden = true;
    updateButtons();
    renderHistory(data.history || []);
    showEditor(focus);
    markSelected();
  }

  function newTopic(prefill = {}) {
    clearAlert();
    S.current = { topicId: null, isNew: true, version: null, published: false, revisionId: null, baseVersion: null, state: 'new', fourEyes: S.me?.four_eyes };
    fillForm({ ...emptyDoc(), ...prefill });
    ui.id.value = prefill.id || '';
    ui.wrapId.hidden = false;
    ui.heading.textContent = 'Neues Thema';
    ui.draftInfo.textContent = 'Vergeben Sie eine Kennung, füllen Sie die Felder aus und speichern Sie den Entwurf. Zum Veröffentlichen braucht das Thema mindestens '
      + `${S.me?.min_questions || 12} Fragevarianten und eine Quelle.`;
    renderHistory([]);
    updateButtons();
    showEditor(false);
    ui.id.focus();
    markSelected();
  }

  function showEditor(focus) {
    ui.editor.hidden = false;
    ui.empty.hidden = true;
    ui.diffView.hidden = true;
    if (focus) ui.heading.focus();
  }

  function closeEditor() {
    S.current = null;
    S.pendingInboxItems = null;
    ui.editor.hidden = true;
    ui.empty.hidden = false;
    markSelected();
    ui.topicList.querySelector('button')?.focus();
  }

  function markSelected() {
    ui.topicList.querySelectorAll('.topic-item').forEach((b) => {
      if (b.dataset.topicId === S.current?.topicId) b.setAttribute('aria-current', 'true'); else b.removeAttribute('aria-current');
    });
  }

  function updateButtons() {
    const c = S.current;
    const pending = c?.state === 'pending';
    ui.publish.textContent = c?.fourEyes ? 'Zur Freigabe senden' : 'Veröffentlichen';
    ui.publish.disabled = pending;
    ui.save.disabled = pending;
    ui.discard.hidden = !c?.revisionId;
    ui.discard.textContent = pending ? 'Änderung zurückziehen' : 'Entwurf verwerfen';
  }

  function fillForm(doc) {
    clearProblems();
    ui.title.value = doc.title || '';
    ui.measure.value = doc.measure || '';
    ui.validFrom.value = doc.valid_from || '';
    ui.validTo.value = doc.valid_to || '';
    ui.stand.value = doc.stand || '';
    ui.answer.value = doc.answer || '';
    ui.offers.checked = !!doc.offers_calculation;
    ui.questions.value = (doc.questions || []).join('\n');
    ui.sources.replaceChildren();
    const sources = doc.sources?.length ? doc.sources : [{ title: '', url: '' }];
    sources.forEach((s) => addSourceRow(s, false));
    renderRelated(doc.related || []);
    renderFacets(doc.facets || {});
    updateCounters();
    schedulePreview();
  }

  function readForm() {
    const questions = ui.questions.value.split('\n').map((q) => q.trim()).filter(Boolean);
    const sources = [...ui.sources.querySelectorAll('[data-testid="source-row"]')].map((row) => ({
      title: row.querySelector('.source-title').value.trim(),
      url: row.querySelector('.source-url').value.trim(),
    })).filter((s) => s.title || s.url);
    const related = [...ui.related.querySelectorAll('input[type="checkbox"]:checked')].map((c) => c.value);
    const facets = {};
    for (const c of ui.facets.querySelectorAll('input[type="checkbox"]:checked')) {
      (facets[c.dataset.facet] ||= []).push(c.value);
    }
    return {
      title: ui.title.value.trim(), measure: ui.measure.value,
      valid_from: ui.validFrom.value || null, valid_to: ui.validTo.value || null, stand: ui.stand.value || null,
      answer: ui.answer.value, sources, related, facets, offers_calculation: ui.offers.checked, questions,
    };
  }

  /** One row of checkboxes per facet (energy, audience, aspect), from /me; `selected` by facet. */
  function renderFacets(selected) {
    ui.facets.replaceChildren(...(S.me?.facets || []).map((f) => {
      const chosen = new Set(selected[f.id] || []);
      return h('div', { class: 'facet-row' }, h('span', { class: 'facet-name', text: `${f.label}:` }),
        ...f.values.map((v) => h('label', { class: 'facet-item' },
          h('input', { type: 'checkbox', value: v.id, 'data-facet': f.id, 'data-testid': `facet-${f.id}-${v.id}`, checked: chosen.has(v.id) }),
          ` ${v.label}`)));
    }));
  }

  function addSourceRow(source = { title: '', url: '' }, focus = true) {
    const rows = ui.sources.children.length;
    if (rows >= (S.me?.limits?.sources || 20)) { status('Mehr Quellen sind nicht möglich.'); return; }
    const row = h('li', { class: 'source-row', 'data-testid': 'source-row' });
    const title = h('input', { class: 'source-title', maxlength: String(S.me?.limits?.source_title || 300), value: source.title || '' });
    const url = h('input', { class: 'source-url', type: 'url', inputmode: 'url', maxlength: String(S.me?.limits?.url || 1000), value: source.url || '', spellcheck: 'false' });
    const remove = h('button', { type: 'button', class: 'btn btn--ghost btn--small', onclick: () => {
      const next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      renumberSources();
      (next?.querySelector('input') || ui.sourceAdd).focus();
    } });
    title.value = source.title || '';
    url.value = source.url || '';
    row.append(
      h('div', { class: 'field' }, h('label', { class: 'source-title-label' }), title),
      h('div', { class: 'field' }, h('label', { class: 'source-url-label' }), url),
      remove);
    ui.sources.append(row);
    renumberSources();
    if (focus) title.focus();
  }

  function renumberSources() {
    [...ui.sources.children].forEach((row, i) => {
      const n = i + 1;
      const [titleLabel, urlLabel] = row.querySelectorAll('label');
      const title = row.querySelector('.source-title');
      const url = row.querySelector('.source-url');
      title.id = `source-title-${n}`;
      url.id = `source-url-${n}`;
      titleLabel.htmlFor = title.id;
      urlLabel.htmlFor = url.id;
      titleLabel.textContent = `Titel der Quelle ${n}`;
      urlLabel.textContent = `Adresse (URL) der Quelle ${n}`;
      row.querySelector('button').textContent = `Quelle ${n} entfernen`;
    });
  }

  function renderRelated(selected) {
    const chosen = new Set(selected);
    const own = S.current?.topicId;
    const topics = S.allTopics.filter((t) => t.id !== own && t.published);
    // Ids that are selected but unknown (deleted topics) stay visible, so the editor can remove them.
    for (const id of chosen) if (!topics.some((t) => t.id === id)) topics.push({ id, title: `${id} (unbekannt)` });
    ui.related.replaceChildren(...topics.map((t) => h('label', { class: 'related-item' },
      h('input', { type: 'checkbox', value: t.id, 'data-testid': `related-${t.id}`, checked: chosen.has(t.id) }),
      ` ${t.title}`)));
  }

  function updateCounters() {
    const max = S.me?.limits?.answer || 6000;
    ui.answerCounter.textContent = `${ui.answer.value.length} von ${max} Zeichen`;
    const lines = ui.questions.value.split('\n').map((q) => q.trim().toLowerCase()).filter(Boolean);
    const distinct = new Set(lines).size;
    const min = S.me?.min_questions || 12;
    const twice = lines.length - distinct;
    let text = `${lines.length} ${lines.length === 1 ? 'Fragevariante' : 'Fragevarianten'} (mindestens ${min}, besser 25 oder mehr)`;
    if (twice) text += ` – ${twice} doppelt`;
    ui.questionsCounter.textContent = text;
    ui.questionsCounter.classList.toggle('warn', lines.length < min || twice > 0);
  }

  // ---- problems per field -----------------------------------------------------------------------

  function clearProblems() {
    ui.problems.hidden = true;
    ui.problems.replaceChildren();
    ui.form.querySelectorAll('.field-error').forEach((p) => { p.textContent = ''; });
    ui.form.querySelectorAll('[aria-invalid]').forEach((el) => el.removeAttribute('aria-invalid'));
  }

  /** Show the API's problems next to their fields and as a linked list at the top. */
  function showProblems(e, heading) {
    clearProblems();
    const problems = e.problems?.length ? e.problems : [{ field: 'content', message: errorText(e) }];
    const byField = {};
    for (const p of problems) (byField[p.field] ||= []).push(p.message);
    for (const [field, messages] of Object.entries(byField)) {
      const target = $(`error-${field}`);
      if (target) target.textContent = messages.join(' ');
      const input = FIELD_INPUTS[field];
      if (input && input !== ui.sourceAdd && input !== ui.related) input.setAttribute('aria-invalid', 'true');
    }
    const list = h('ul', {}, ...problems.map((p) => {
      const label = FIELD_LABELS[p.field] || p.field;
      const input = FIELD_INPUTS[p.field];
      return h('li', {}, input
        ? h('a', { href: '#', onclick: (ev) => { ev.preventDefault(); (input === ui.related ? ui.related.querySelector('input') : input)?.focus(); }, text: `${label}: ${p.message}` })
        : `${label}: ${p.message}`);
    }));
    ui.problems.replaceChildren(h('p', { text: heading || 'Bitte prüfen Sie diese Angaben:' }), list);
    ui.problems.hidden = false;
    ui.problems.focus();
  }

  // ---- live preview -----------------------------------------------------------------------------

  const schedulePreview = debounce(renderPreview, PREVIEW_DELAY_MS);

  async function renderPreview() {
    if (!S.current) return;
    const seq = ++S.previewSeq;
    const body = {
      answer: ui.answer.value.slice(0, S.me?.limits?.answer || 6000),
      stand: ui.stand.value || null, valid_from: ui.validFrom.value || null, valid_to: ui.validTo.value || null,
      offers_calculation: ui.offers.checked,
    };
    try {
      const res = await api('POST', '/preview', body);
      if (seq !== S.previewSeq) return; // a newer preview is on its way
      setServerHtml(ui.preview, res.html, res.text);
      ui.previewButtons.replaceChildren(...(res.buttons || []).map((b) => h('button', { type: 'button', class: 'swc-reply', disabled: true, text: b.title })));
      ui.previewButtons.hidden = !(res.buttons || []).length;
      ui.previewProblems.replaceChildren(...(res.problems || []).map((p) => h('li', { text: p })));
    } catch (e) {
      if (seq !== S.previewSeq || e.status === 401) return;
      ui.previewProblems.replaceChildren(h('li', { text: e.status === 422
        ? (e.problems || []).map((p) => p.message).join(' ') || errorText(e)
        : 'Die Vorschau ist gerade nicht verfügbar.' }));
    }
  }

  async function loadPlaceholders() {
    try {
      S.placeholders = await api('GET', '/placeholders');
    } catch { return; }
    const facts = h('optgroup', { label: 'Zahlen und Daten (knowledge/facts)' },
      ...S.placeholders.facts.flatMap((f) => [
        h('option', { value: f.placeholder, text: `${f.name} – ${f.value}` }),
        ...f.formats.map((x) => h('option', { value: x.placeholder, text: `${f.name} (${x.placeholder.split(':')[1].replace('}}', '')}) – ${x.value}` })),
      ]));
    const utility = h('optgroup', { label: 'Stadtwerk (knowledge/utility.yml)' },
      ...S.placeholders.utility.map((u) => h('option', { value: u.placeholder, text: `utility.${u.key} – ${u.value}` })));
    ui.placeholderSelect.append(facts, utility);
  }

  function insertPlaceholder() {
    const value = ui.placeholderSelect.value;
    if (!value) { status('Bitte zuerst einen Platzhalter auswählen.'); ui.placeholderSelect.focus(); return; }
    const start = ui.answer.selectionStart ?? ui.answer.value.length;
    const end = ui.answer.selectionEnd ?? start;
    ui.answer.setRangeText(value, start, end, 'end');
    ui.answer.focus();
    updateCounters();
    schedulePreview();
    status(`${value} eingefügt.`);
  }

  // ---- save, publish, discard -------------------------------------------------------------------

  let busy = false;
  async function withBusy(fn) {
    if (busy) return;
    busy = true;
    ui.form.setAttribute('aria-busy', 'true');
    try { await fn(); } finally { busy = false; ui.form.removeAttribute('aria-busy'); }
  }

  /** Save the form as a draft; returns the revision, or null after showing the problems. */
  async function saveDraft() {
    const c = S.current;
    const data = readForm();
    clearAlert();
    try {
      let res;
      if (c.isNew) {
        res = await api('POST', '/topics', { id: ui.id.value.trim(), ...data });
        c.isNew = false;
        c.topicId = res.revision.topic_id;
        ui.wrapId.hidden = true;
        if (S.pendingInboxItems) await resolveNewTopicItems();
      } else {
        const body = { ...data, revision_id: c.revisionId };
        if (!c.revisionId && c.baseVersion) body.base_version = c.baseVersion;
        res = await api('POST', `/topics/${encodeURIComponent(c.topicId)}/drafts`, body);
      }
      c.revisionId = res.revision.id;
      c.state = res.revision.state;
      clearProblems();
      updateButtons();
      ui.draftInfo.textContent = `Sie bearbeiten Ihren Entwurf (gespeichert ${when(res.revision.updated_at)}, noch nicht veröffentlicht).`;
      return res.revision;
    } catch (e) {
      handleEditError(e, 'Der Entwurf konnte nicht gespeichert werden.');
      return null;
    }
  }

  function handleEditError(e, fallback) {
    if (e.status === 401) return;
    if (e.status === 422) { showProblems(e); return; }
    if (e.status === 409) {
      showAlert(errorText(e), S.current?.topicId ? h('button', { type: 'button', class: 'btn btn--ghost', text: 'Thema neu laden',
        onclick: () => openTopic(S.current.topicId) }) : null);
      ui.alert.focus?.();
      return;
    }
    showAlert(errorText(e, fallback));
  }

  async function onSave() {
    await withBusy(async () => {
      const rev = await saveDraft();
      if (!rev) return;
      status(`Entwurf von „${rev.title}“ gespeichert. Er ist noch nicht veröffentlicht.`);
      await Promise.all([loadTopics(), refreshHistory()]);
    });
  }

  async function onPublish() {
    await withBusy(async () => {
      const rev = await saveDraft();
      if (!rev) return;
      try {
        const res = await api('POST', `/revisions/${rev.id}/submit`);
        status(res.message);
        const topicId = S.current.topicId;
        await Promise.all([loadTopics(), loadAllTopics()]);
        await openTopic(topicId, { focus: false });
        ui.draftInfo.textContent = `${res.message} ${ui.draftInfo.textContent}`;
        if (res.retrain) loadTraining();
        refreshBadges();
      } catch (e) {
        handleEditError(e, 'Das Thema konnte nicht veröffentlicht werden.');
        refreshHistory();
      }
    });
  }

  async function onDiscard() {
    const c = S.current;
    if (!c?.revisionId) return;
    const pending = c.state === 'pending';
    if (!await confirmAction(pending ? 'Ihre Änderung zurückziehen? Sie wird dann nicht veröffentlicht.'
      : 'Entwurf verwerfen? Ihre nicht veröffentlichten Änderungen gehen verloren.', pending ? 'Zurückziehen' : 'Verwerfen')) return;
    try {
      await api('POST', `/revisions/${c.revisionId}/discard`);
      status('Der Entwurf wurde verworfen.');
      await loadTopics();
      if (c.published || c.version) await openTopic(c.topicId); else closeEditor();
    } catch (e) {
      handleEditError(e, 'Der Entwurf konnte nicht verworfen werden.');
    }
  }

  // ---- history, diff, rollback ------------------------------------------------------------------

  async function refreshHistory() {
    if (!S.current?.topicId || S.current.isNew) return;
    try {
      const data = await api('GET', `/topics/${encodeURIComponent(S.current.topicId)}`);
      renderHistory(data.history || []);
    } catch { /* keep the old table */ }
  }

  function renderHistory(history) {
    const current = S.current?.version;
    const published = history.filter((r) => r.state === 'published' && r.version).map((r) => r.version);
    ui.historyBody.replaceChildren(...history.map((r) => {
      const actions = [];
      if (r.state === 'published' && r.version) {
        const previous = Math.max(0, ...published.filter((v) => v < r.version));
        if (previous) actions.push(h('button', { type: 'button', class: 'btn btn--ghost btn--small', 'data-testid': 'history-diff',
          text: `Änderungen zu Version ${previous}`, onclick: () => showVersionDiff(previous, r.version) }));
        if (r.version !== current) actions.push(h('button', { type: 'button', class: 'btn btn--small', 'data-testid': 'rollback',
          'aria-label': `Auf Version ${r.version} zurücksetzen`, text: 'Auf diese Version zurücksetzen', onclick: () => rollback(r.version) }));
      } else {
        actions.push(h('button', { type: 'button', class: 'btn btn--ghost btn--small', 'data-testid': 'history-diff',
          text: 'Änderungen anzeigen', onclick: () => showRevisionDiff(r.id) }));
      }
      const label = r.version ? `Version ${r.version}${r.version === current ? ' (aktuell)' : ''}` : '–';
      const note = r.note ? ` – ${r.note}` : '';
      return h('tr', { 'data-testid': 'history-row', 'data-version': r.version ?? '', 'data-state': r.state },
        h('td', { text: label }), h('td', { text: `${r.state_label}${note}` }),
        h('td', { text: r.reviewer && r.state === 'published' ? `${r.author}, freigegeben von ${r.reviewer}` : r.author }),
        h('td', { text: when(r.published_at || r.updated_at) }), h('td', {}, h('div', { class: 'row-actions' }, ...actions)));
    }));
  }

  function renderDiff(title, text) {
    ui.diffTitle.textContent = title;
    const lines = (text || '').split('\n').filter((l, i, all) => l || i < all.length - 1);
    ui.diffText.replaceChildren(...(lines.length ? lines : ['Keine Unterschiede.']).map((line) => {
      let kind = '';
      if (line.startsWith('+++') || line.startsWith('---')) kind = 'file';
      else if (line.startsWith('+')) kind = 'add';
      else if (line.startsWith('-')) kind = 'del';
      else if (line.startsWith('@@')) kind = 'hunk';
      const prefix = kind === 'add' ? 'neu: ' : kind === 'del' ? 'entfernt: ' : '';
      return h('span', { class: `diff-line${kind ? ` diff-line--${kind}` : ''}` },
        prefix ? h('span', { class: 'sr-only', text: prefix }) : null, `${line}\n`);
    }));
    ui.diffView.hidden = false;
    ui.diffTitle.focus();
  }

  async function showVersionDiff(old, neu) {
    try {
      const res = await api('GET', `/topics/${encodeURIComponent(S.current.topicId)}/diff?old=${old}&new=${neu}`);
      renderDiff(`Änderungen von Version ${old} zu Version ${neu}`, res.diff);
    } catch (e) { showAlert(errorText(e, 'Der Vergleich konnte nicht geladen werden.')); }
  }

  async function showRevisionDiff(id) {
    try {
      const res = await api('GET', `/revisions/${id}`);
      renderDiff(`Änderungen im Entwurf ${id} gegenüber der veröffentlichten Version`, res.diff);
    } catch (e) { showAlert(errorText(e, 'Der Vergleich konnte nicht geladen werden.')); }
  }

  async function rollback(version) {
    await withBusy(async () => {
      clearAlert();
      try {
        const res = await api('POST', `/topics/${encodeURIComponent(S.current.topicId)}/rollback`, { version });
        status(res.message);
        await loadTopics();
        await openTopic(S.current.topicId, { focus: false });
        ui.draftInfo.textContent = `${res.message} ${ui.draftInfo.textContent}`;
      } catch (e) { handleEditError(e, 'Das Zurücksetzen hat nicht geklappt.'); }
    });
  }

  // ---- reviews (four-eyes) ----------------------------------------------------------------------

  let rejecting = null;
  async function loadReviews() {
    try {
      const data = await api('GET', '/reviews');
      setCount('reviews-count', data.reviews.length);
      $('reviews-info').textContent = data.four_eyes
        ? 'Das Vier-Augen-Prinzip ist eingeschaltet: Änderungen gehen erst live, wenn eine zweite Person sie freigibt.'
        : 'Das Vier-Augen-Prinzip ist ausgeschaltet: Änderungen gehen direkt live. Offene Freigaben aus der Zeit davor stehen hier.';
      if (!data.reviews.length) $('reviews-info').textContent += ' Zurzeit wartet nichts auf Freigabe.';
      $('review-list').replaceChildren(...data.reviews.map(renderReview));
    } catch (e) { if (e.status !== 401) showAlert(errorText(e, 'Die Freigaben konnten nicht geladen werden.')); }
  }

  function renderReview(r) {
    const headId = `review-${r.id}-head`;
    const diff = h('pre', { class: 'diff' });
    const lines = (r.diff || '').split('\n');
    diff.replaceChildren(...lines.map((line) => h('span', { class: `diff-line${line.startsWith('+') && !line.startsWith('+++') ? ' diff-line--add'
      : line.startsWith('-') && !line.startsWith('---') ? ' diff-line--del' : ''}`, text: `${line}\n` })));
    const actions = r.own
      ? [h('p', { class: 'muted', text: 'Ihre eigene Änderung: Eine zweite Person muss sie freigeben.' })]
      : [h('button', { type: 'button', class: 'btn', 'data-testid': 'review-approve', 'aria-describedby': headId, text: 'Freigeben und veröffentlichen', onclick: () => approve(r) }),
        h('button', { type: 'button', class: 'btn btn--danger', 'data-testid': 'review-reject', 'aria-describedby': headId, text: 'Zurückweisen', onclick: () => openReject(r) })];
    return h('li', { class: 'card', 'data-testid': 'review', 'data-revision-id': String(r.id) },
      h('h3', { id: headId, text: `${r.title} – von ${r.author}, ${when(r.updated_at)}` }),
      h('details', { open: true }, h('summary', { text: 'Änderungen' }), diff),
      h('div', { class: 'actions' }, ...actions));
  }

  async function approve(r) {
    try {
      const res = await api('POST', `/revisions/${r.id}/approve`);
      status(res.message);
    } catch (e) { if (e.status !== 401) showAlert(errorText(e, 'Die Freigabe hat nicht geklappt.')); }
    loadReviews();
    loadTopics();
  }

  function openReject(r) {
    rejecting = r;
    $('reject-note').value = '';
    $('reject-error').textContent = '';
    $('reject-title').textContent = `„${r.title}“ zurückweisen`;
    $('reject-dialog').showModal();
    $('reject-note').focus();
  }

  async function confirmReject(ev) {
    ev.preventDefault();
    const note = $('reject-note').value.trim();
    if (!note) { $('reject-error').textContent = 'Bitte schreiben Sie kurz, was geändert werden soll.'; $('reject-note').focus(); return; }
    try {
      const res = await api('POST', `/revisions/${rejecting.id}/reject`, { note });
      $('reject-dialog').close();
      status(res.message);
      loadReviews();
      loadTopics();
    } catch (e) {
      $('reject-error').textContent = e.problems?.length ? e.problems.map((p) => p.message).join(' ') : errorText(e);
    }
  }

  // ---- inbox ------------------------------------------------------------------------------------

  const KIND = { fallback: 'nicht verstanden', feedback: 'Daumen runter', handoff: 'an Mitarbeitende weitergeleitet' };
  const SENDER = { customer: 'Kundin/Kunde', bot: 'Assistent', agent: 'Kundenservice', system: 'System' };
  let variantGroup = null;

  async function loadInbox() {
    try {
      const data = await api('GET', '/inbox');
      S.inboxGroups = data.groups;
      setCount('inbox-count', data.open);
      $('inbox-empty').hidden = data.groups.length > 0;
      $('inbox-list').replaceChildren(...data.groups.map(renderGroup));
    } catch (e) { if (e.status !== 401) showAlert(errorText(e, 'Der Posteingang konnte nicht geladen werden.')); }
  }

  function renderGroup(g) {
    const headId = `inbox-${g.key}-head`;
    const kinds = g.kinds.map((k) => KIND[k] || k).join(', ');
    const topics = g.topics?.length ? ` · Bezug: ${g.topics.map((t) => t.title).join(', ')}` : '';
    const entries = h('ul', { class: 'inbox-entries' }, ...g.entries.map((entry) => {
      const excerpt = h('div', { class: 'excerpt', hidden: true });
      const toggle = h('button', { type: 'button', class: 'btn btn--ghost btn--small', 'data-testid': 'inbox-excerpt', 'aria-expanded': 'false',
        text: 'Gesprächsausschnitt', onclick: () => toggleExcerpt(entry.id, toggle, excerpt) });
      return h('li', {}, h('span', { text: `„${entry.text}“ (${KIND[entry.kind] || entry.kind}, ${when(entry.created_at)}) ` }), toggle, excerpt);
    }));
    return h('li', { class: 'card inbox-group', 'data-testid': 'inbox-group', 'data-key': String(g.key) },
      h('h3', { id: headId }, h('span', { class: 'count', text: String(g.count) }), ` „${g.text}“`),
      h('p', { class: 'muted small', text: `${g.count === 1 ? '1 Nachricht' : `${g.count} Nachrichten`} · ${kinds} · zuletzt ${when(g.newest_at)}${topics}` }),
      h('details', {}, h('summary', { text: g.count === 1 ? 'Nachricht ansehen' : `Alle ${g.count} Nachrichten ansehen` }), entries),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'btn', 'data-testid': 'inbox-add', 'aria-describedby': headId, text: 'Als Variante hinzufügen', onclick: () => openVariant(g) }),
        h('button', { type: 'button', class: 'btn btn--ghost', 'data-testid': 'inbox-new-topic', 'aria-describedby': headId, text: 'Neues Thema starten', onclick: () => startTopicFrom(g) }),
        h('button', { type: 'button', class: 'btn btn--ghost', 'data-testid': 'inbox-dismiss', 'aria-describedby': headId, text: 'Verwerfen', onclick: () => dismissGroup(g) })));
  }

  async function toggleExcerpt(itemId, toggle, box) {
    const open = toggle.getAttribute('aria-expanded') === 'true';
    toggle.setAttribute('aria-expanded', String(!open));
    box.hidden = open;
    if (open || box.childElementCount) return;
    try {
      const res = await api('GET', `/inbox/items/${itemId}/excerpt`);
      box.replaceChildren(h('ol', { class: 'excerpt-list' }, ...res.messages.map((m) => h('li', { class: m.is_item ? 'is-item' : null },
        h('strong', { text: `${SENDER[m.sender] || m.sender}: ` }), m.text,
        m.buttons?.length ? h('span', { class: 'muted', text: ` [Buttons: ${m.buttons.join(' | ')}]` }) : null))));
    } catch (e) { box.replaceChildren(h('p', { text: errorText(e, 'Der Ausschnitt konnte nicht geladen werden.') })); }
  }

  function openVariant(g) {
    variantGroup = g;
    const select = $('variant-topic');
    const topics = S.allTopics.filter((t) => t.published);
    select.replaceChildren(h('option', { value: '', text: '– Thema wählen –' }),
      ...topics.map((t) => h('option', { value: t.id, text: t.title })));
    select.value = g.topics?.[0]?.id || '';
    $('variant-text').value = g.text;
    $('variant-error').textContent = '';
    $('variant-info').textContent = `${g.count === 1 ? '1 Nachricht' : `${g.count} Nachrichten`} – der Assistent lernt die Frage im nächsten Training.`;
    $('variant-dialog').showModal();
    select.focus();
  }

  async function confirmVariant(ev) {
    ev.preventDefault();
    const topicId = $('variant-topic').value;
    const text = $('variant-text').value.trim();
    if (!topicId) { $('variant-error').textContent = 'Bitte wählen Sie das Thema, das diese Frage beantwortet.'; $('variant-topic').focus(); return; }
    if (!text) { $('variant-error').textContent = 'Bitte geben Sie die Frage ein.'; $('variant-text').focus(); return; }
    $('variant-confirm').disabled = true;
    try {
      const res = await api('POST', '/inbox/add-variant', { item_ids: variantGroup.item_ids, topic_id: topicId, text });
      $('variant-dialog').close();
      status(res.message);
      loadInbox();
      loadTraining();
      loadTopics();
    } catch (e) {
      $('variant-error').textContent = e.problems?.length ? e.problems.map((p) => p.message).join(' ') : errorText(e);
    } finally {
      $('variant-confirm').disabled = false;
    }
  }

  function startTopicFrom(g) {
    S.pendingInboxItems = g.item_ids;
    showView('topics', false);
    newTopic({ questions: [g.text] });
    status('Neues Thema mit der Frage aus dem Posteingang. Beim ersten Speichern werden die Nachrichten als erledigt markiert.');
  }

  async function resolveNewTopicItems() {
    const ids = S.pendingInboxItems;
    S.pendingInboxItems = null;
    try {
      await api('POST', '/inbox/start-topic', { item_ids: ids });
      refreshBadges();
    } catch (e) { showAlert(errorText(e, 'Die Nachrichten im Posteingang konnten nicht als erledigt markiert werden.')); }
  }

  async function dismissGroup(g) {
    if (!await confirmAction(`${g.count === 1 ? 'Die Nachricht' : `Alle ${g.count} Nachrichten`} „${g.text}“ verwerfen? Daraus wird nichts gelernt.`, 'Verwerfen')) return;
    try {
      const res = await api('POST', '/inbox/dismiss', { item_ids: g.item_ids });
      status(res.message);
    } catch (e) { if (e.status !== 401) showAlert(errorText(e, 'Das Verwerfen hat nicht geklappt.')); }
    loadInbox();
  }

  // ---- checks -----------------------------------------------------------------------------------

  async function loadChecks() {
    $('checks-summary').textContent = 'Die Inhalte werden geprüft …';
    try {
      const data = await api('GET', '/checks');
      $('checks-summary').textContent = data.results.length
        ? `${data.errors} ${data.errors === 1 ? 'Fehler' : 'Fehler'} und ${data.warnings} ${data.warnings === 1 ? 'Hinweis' : 'Hinweise'} (geprüft ${when(data.checked_at)}).`
        : `Keine Auffälligkeiten (geprüft ${when(data.checked_at)}).`;
      $('checks-list').replaceChildren(...data.results.map((r) => h('li', { class: `card check check--${r.severity}`, 'data-testid': 'check-result', 'data-severity': r.severity, 'data-code': r.code },
        h('p', {}, badge(r.severity === 'error' ? 'Fehler' : 'Hinweis', r.severity === 'error' ? 'bad' : 'warn'), ' ',
          h('strong', { text: r.title || r.topic_id }), ` · ${FIELD_LABELS[r.field] || r.field}`),
        h('p', { text: r.message }),
        r.topic_id ? h('button', { type: 'button', class: 'btn btn--ghost btn--small', text: `„${r.title}“ öffnen`,
          onclick: () => { showView('topics', false); openTopic(r.topic_id); } }) : null)));
    } catch (e) {
      $('checks-summary').textContent = errorText(e, 'Die Prüfung konnte nicht ausgeführt werden.');
    }
  }

  // ---- training ---------------------------------------------------------------------------------

  const fraction = (x) => (typeof x === 'number' ? percent.format(x) : '–');

  async function loadTraining() {
    try {
      const data = await api('GET', '/training');
      renderTraining(data);
    } catch (e) {
      if (e.status !== 401) $('training-current').textContent = errorText(e, 'Der Trainingsstand konnte nicht geladen werden.');
    }
  }

  function renderTraining(data) {
    const runs = data.runs || [];
    const active = data.active;
    const last = runs[0];
    let text;
    if (!data.enabled) text = 'Das automatische Training ist auf diesem Server ausgeschaltet. Neue Fragevarianten lernt der Assistent erst beim nächsten Training durch die Technik.';
    else if (active) text = `${active.state_label}: Lauf ${active.id}, angestoßen von ${active.requested_by} am ${when(active.created_at)}. Der Assistent antwortet währenddessen mit dem bisherigen Modell.`;
    else if (!last) text = 'Bisher gab es kein Training.';
    else if (last.state === 'live') text = `Das neueste Modell ist live seit ${when(last.finished_at)} (Lauf ${last.id}).`;
    else text = `Lauf ${last.id}: ${last.state_label}. ${last.reason || ''} Das bisherige Modell bleibt aktiv.`;
    const box = $('training-current');
    if (box.textContent !== text) box.textContent = text;
    box.dataset.state = active ? active.state : last ? last.state : '';
    const badgeEl = $('training-badge');
    badgeEl.hidden = !active;
    badgeEl.textContent = active ? active.state_label : '';
    $('training-empty').hidden = runs.length > 0;
    $('training-body').replaceChildren(...runs.map((r) => h('tr', { 'data-testid': 'training-run', 'data-state': r.state, 'data-run-id': String(r.id) },
      h('td', { text: String(r.id) }), h('td', {}, badge(r.state_label, { live: 'ok', rejected: 'bad', failed: 'bad' }[r.state] || 'info')),
      h('td', { text: r.requested_by }), h('td', { text: when(r.started_at || r.created_at) }), h('td', { text: when(r.finished_at) }),
      h('td', { text: `${fraction(r.accuracy)} / ${fraction(r.live_accuracy)}` }), h('td', { text: r.reason || '' }))));
  }

  // ---- audit log --------------------------------------------------------------------------------

  const PAGE = 50;
  function describeDetail(d) {
    const parts = [];
    if (d.version) parts.push(`Version ${d.version}`);
    if (d.revision) parts.push(`Entwurf ${d.revision}`);
    if (d.retrain) parts.push('Training angestoßen');
    if (d.question) parts.push(`Frage „${d.question}“`);
    if (Array.isArray(d.items)) parts.push(`${d.items.length} Nachricht(en)`);
    if (d.note) parts.push(`Begründung: ${d.note}`);
    if (d.changed) parts.push(`${d.changed} Themen geändert`);
    if (typeof d.enabled === 'boolean') parts.push(d.enabled ? 'eingeschaltet' : 'ausgeschaltet');
    if (d.role?.from) parts.push(`Rolle ${d.role.from} → ${d.role.to}`);
    else if (typeof d.role === 'string') parts.push(`Rolle ${d.role}`);
    if (d.display_name?.from) parts.push(`Name ${d.display_name.from} → ${d.display_name.to}`);
    return parts.join(' · ');
  }

  async function loadAudit(reset) {
    if (reset) S.auditOffset = 0;
    try {
      const data = await api('GET', `/audit?limit=${PAGE}&offset=${S.auditOffset}`);
      const rows = data.entries.map((e) => h('tr', { 'data-testid': 'audit-row', 'data-action': e.action },
        h('td', { text: when(e.at) }), h('td', { text: e.actor }), h('td', { text: e.action_label }),
        h('td', { text: e.target || '' }), h('td', { text: describeDetail(e.detail || {}) })));
      if (reset) $('audit-body').replaceChildren(...rows); else $('audit-body').append(...rows);
      S.auditOffset += data.entries.length;
      $('audit-more').hidden = data.entries.length < PAGE;
    } catch (e) { if (e.status !== 401) showAlert(errorText(e, 'Das Protokoll konnte nicht geladen werden.')); }
  }

  // ---- badges -----------------------------------------------------------------------------------

  function setCount(id, n) {
    const el = $(id);
    el.textContent = String(n);
    el.hidden = !n;
  }

  async function refreshBadges() {
    try {
      const me = await api('GET', '/me');
      S.me = me;
      setCount('reviews-count', me.reviews_pending);
      setCount('inbox-count', me.inbox_open);
      if (S.current && S.current.fourEyes !== me.four_eyes) { S.current.fourEyes = me.four_eyes; updateButtons(); }
    } catch { /* next time */ }
  }

  // ---- start ------------------------------------------------------------------------------------

  async function start() {
    try {
      S.me = await api('GET', '/me');
    } catch (e) {
      if (e.status !== 401) showAlert(errorText(e, 'Die Redaktion konnte nicht geladen werden.'));
      return;
    }
    for (const m of S.me.measures) {
      ui.filterMeasure.append(h('option', { value: m.id, text: m.label }));
      ui.measure.append(h('option', { value: m.id, text: m.label }));
    }
    ui.answer.maxLength = S.me.limits.answer;
    setCount('reviews-count', S.me.reviews_pending);
    setCount('inbox-count', S.me.inbox_open);

    for (const v of VIEWS) $(`nav-${v}`).addEventListener('click', () => showView(v));
    const reload = debounce(loadTopics, SEARCH_DELAY_MS);
    ui.search.addEventListener('input', reload);
    $('topic-filters').addEventListener('submit', (ev) => { ev.preventDefault(); loadTopics(); });
    for (const el of [ui.filterMeasure, ui.filterExpired, ui.filterLow, ui.filterMany]) el.addEventListener('change', loadTopics);
    $('topic-new').addEventListener('click', () => newTopic());
    ui.close.addEventListener('click', closeEditor);
    ui.answer.addEventListener('input', () => { updateCounters(); schedulePreview(); });
    for (const el of [ui.stand, ui.validFrom, ui.validTo, ui.offers]) el.addEventListener('change', schedulePreview);
    ui.questions.addEventListener('input', updateCounters);
    ui.placeholderInsert.addEventListener('click', insertPlaceholder);
    ui.sourceAdd.addEventListener('click', () => addSourceRow());
    ui.save.addEventListener('click', onSave);
    ui.publish.addEventListener('click', onPublish);
    ui.discard.addEventListener('click', onDiscard);
    ui.form.addEventListener('submit', (ev) => { ev.preventDefault(); onSave(); });
    // Ctrl+S / Cmd+S saves the draft instead of the page.
    ui.form.addEventListener('keydown', (ev) => {
      if ((ev.ctrlKey || ev.metaKey) && ev.key.toLowerCase() === 's') { ev.preventDefault(); onSave(); }
    });
    $('variant-form').addEventListener('submit', confirmVariant);
    $('variant-cancel').addEventListener('click', () => $('variant-dialog').close());
    $('reject-form').addEventListener('submit', confirmReject);
    $('reject-cancel').addEventListener('click', () => $('reject-dialog').close());
    $('inbox-refresh').addEventListener('click', loadInbox);
    $('checks-run').addEventListener('click', loadChecks);
    $('audit-more').addEventListener('click', () => loadAudit(false));

    await loadTopics();
    loadPlaceholders();
    loadTraining();
    const wanted = new URLSearchParams(location.search).get('topic');
    if (wanted) openTopic(wanted);

    window.setInterval(() => { if (!stopped && S.view === 'training' && !document.hidden) loadTraining(); }, TRAINING_POLL_MS);
    window.setInterval(() => {
      if (stopped || document.hidden) return;
      refreshBadges();
      if (S.view !== 'training') loadTraining();
    }, BACKGROUND_POLL_MS);
  }

  start();
})();
