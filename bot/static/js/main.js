// The dashboard page: wires the URL state, filters, table, live tail, stats and detail.
import * as api from './api.js';
import { DetailPanel } from './detail.js';
import { byId } from './dom.js';
import { ExportLinks } from './exports.js';
import { errorQuery, FailuresView } from './failures.js';
import { FilterForm } from './filters.js';
import { ForwardingView, VIEW as FORWARDING } from './forwarding.js';
import * as fmt from './format.js';
import { bindKeys } from './keys.js';
import { LiveTail } from './live.js';
import * as query from './query.js';
import { button, StateBox, tokenForm } from './states.js';
import { StatsView } from './stats.js';
import { LogTable } from './table.js';
import { applyZone, savedZone, saveZone } from './zone.js';

// The forwarding view is a view like the others: the URL may name it.
if (!query.VIEWS.includes(FORWARDING)) query.VIEWS.push(FORWARDING);

const MAX_BUFFERED = 500; // new rows held while paused; beyond that, resume reloads
const MAX_ROWS = 1000; // lines kept on screen; older ones stay reachable with "Older"
const STATS_REFRESH_MS = 30000;

const olderButton = byId('older');
const tableWrap = document.querySelector('.table-wrap');

let state = query.readState();
let nextBefore = null;
let loaded = false;
let early = [];
let listController = null;
let statsController = null;
let failuresController = null;
let firstRowsShown = false;
let paused = false;
let reloadOnResume = false;
const buffered = new Map();
let detailPushed = false;

const table = new LogTable(byId('rows'), { onOpen: (id) => openDetail(id) });
const stats = new StatsView();
const detail = new DetailPanel({ onClose: () => closeDetail(), onResent: (row) => resent(row) });
const live = new LiveTail({ onReady: loadFirstPage, onRow, onResync, onState: showLiveState });
const stateBox = new StateBox();
const exportLinks = new ExportLinks();
const failures = new FailuresView({ onPick: pickFailure });
const forwarding = new ForwardingView({ onResent: (row) => onRow(row) });
const filterForm = new FilterForm({
  onApply: (filters) => applyState({ ...state, filters, id: null }),
  onClear: () => applyState({ ...state, filters: {}, id: null }),
});

// -- filters and URL --------------------------------------------------------------

function applyState(next, { history = 'push', force = false } = {}) {
  const previous = state;
  state = next;
  if (history !== 'none') query.writeState(state, { replace: history === 'replace' });
  filterForm.show(state.filters);
  exportLinks.show(state.filters);
  for (const choice of byId('range').querySelectorAll('button')) {
    choice.setAttribute('aria-pressed', String(choice.dataset.range === state.range));
  }
  for (const choice of byId('view').querySelectorAll('button')) {
    choice.setAttribute('aria-pressed', String(choice.dataset.view === state.view));
  }
  byId('chart-panel').hidden = state.view !== 'chart';
  byId('failures').hidden = state.view !== 'failures';
  byId('forwarding').hidden = state.view !== FORWARDING;
  const filtersChanged = force || !query.sameFilters(previous.filters, state.filters);
  // The stream first, the table once it is subscribed: no row falls between the two.
  if (filtersChanged) startTable();
  const rangeChanged = force || filtersChanged || previous.range !== state.range;
  if (rangeChanged) loadStats();
  if (state.view === 'failures' && (rangeChanged || previous.view !== state.view)) loadFailures();
  if (state.view === FORWARDING && (force || previous.view !== state.view)) forwarding.load();
  syncDetail();
}

function startTable() {
  listController?.abort();
  // Forgotten, not just aborted: its finally must not clear the loading mark of this load.
  listController = null;
  loaded = false;
  early = [];
  tableWrap.classList.add('is-loading');
  if (table.size === 0) showState('loading', 'Loading messages…');
  live.follow(query.streamFilters(state.filters));
}

function pickFailure(group) {
  // A group counts failed and dead rows alike; a view already on one of them stays on it.
  const status = state.filters.status === 'dead' ? 'dead' : 'failed';
  const filters = { ...state.filters, status };
  const q = errorQuery(group.error_message);
  if (q) filters.q = q;
  else delete filters.q;
  applyState({ ...state, filters, id: null });
}

// -- the table ----------------------------------------------------------------------

function showState(kind, text, ...actions) {
  if (kind) stateBox.show(kind, text, ...actions);
  else stateBox.hide();
}

function useToken(token) {
  api.setToken(token);
  applyState(state, { history: 'none', force: true });
}

function showError(err) {
  if (err.status === 401) {
    showState('error', 'This server needs an API token to show its logs.', tokenForm(useToken));
    return;
  }
  showState('error', `The logs could not be loaded. ${err.message}`,
    button('Try again', () => loadFirstPage(), 'btn-primary'));
}

function updateChrome() {
  olderButton.hidden = nextBefore === null;
  const n = table.size;
  byId('row-count').textContent = n ? `${n.toLocaleString()} shown${nextBefore === null ? '' : ' · more below'}` : '';
  tableWrap.classList.toggle('is-empty', n === 0);
  if (n > 0) {
    showState(null);
  } else if (query.hasFilters(state.filters)) {
    showState('empty', 'No messages match these filters.',
      button('Clear filters', () => applyState({ ...state, filters: {}, id: null })));
  } else {
    showState('empty', 'No messages yet. New ones appear here as soon as they are logged.');
  }
}

async function loadFirstPage() {
  listController?.abort();
  const controller = new AbortController();
  listController = controller;
  loaded = false;
  tableWrap.classList.add('is-loading');
  if (table.size === 0) showState('loading', 'Loading messages…');
  try {
    const page = await api.listMessages(state.filters, null, controller.signal);
    table.setRows(page.items);
    markFirstRows(page.items.length);
    nextBefore = page.next_before_id;
    loaded = true;
    buffered.clear();
    reloadOnResume = false;
    updateNewRows();
    const waiting = early;
    early = [];
    for (const row of waiting) onRow(row);
    updateChrome();
  } catch (err) {
    if (err.name === 'AbortError') return;
    table.setRows([]);
    nextBefore = null;
    olderButton.hidden = true;
    tableWrap.classList.add('is-empty');
    byId('row-count').textContent = '';
    showError(err);
  } finally {
    if (listController === controller) tableWrap.classList.remove('is-loading');
  }
}

/** The first rows on screen, as a mark in the page's performance timeline (for tests). */
function markFirstRows(n) {
  if (firstRowsShown || n === 0) return;
  firstRowsShown = true;
  window.requestAnimationFrame(() => performance.mark('msglog:first-rows', { detail: { rows: n } }));
}

async function loadOlder() {
  if (nextBefore === null) return;
  olderButton.disabled = true;
  olderButton.textContent = 'Loading…';
  try {
    const page = await api.listMessages(state.filters, nextBefore, listController?.signal);
    table.appendRows(page.items);
    nextBefore = page.next_before_id;
    updateChrome();
  } catch (err) {
    if (err.name !== 'AbortError') showState('error', `Older messages could not be loaded. ${err.message}`, button('Try again', loadOlder));
  } finally {
    olderButton.disabled = false;
    olderButton.textContent = 'Older';
  }
}

// -- live tail ----------------------------------------------------------------------

function onRow(row) {
  if (!loaded) {
    early.push(row);
    if (early.length > MAX_BUFFERED) early.shift();
    return;
  }
  if (detail.id === String(row.id)) detail.render(row);
  const known = table.get(row.id) !== undefined;
  if (!query.matches(row, state.filters)) {
    if (known) table.remove(row.id);
    buffered.delete(row.id);
    updateNewRows();
    if (known) updateChrome();
    return;
  }
  if (!known && paused) {
    if (buffered.has(row.id) || buffered.size < MAX_BUFFERED) buffered.set(row.id, row);
    else reloadOnResume = true;
    updateNewRows();
    return;
  }
  if (table.put(row, { hasMore: nextBefore !== null }) === 'inserted') {
    const cut = table.trim(MAX_ROWS);
    if (cut !== null) nextBefore = cut;
    updateChrome();
  }
}

function onResync() {
  if (paused) reloadOnResume = true;
  else loadFirstPage();
}

function updateNewRows() {
  const badge = byId('new-rows');
  const n = buffered.size;
  badge.hidden = !paused || (n === 0 && !reloadOnResume);
  badge.textContent = `${n}${reloadOnResume ? '+' : ''} new`;
}

let liveState = 'connecting';
function showLiveState(next) {
  liveState = next;
  const labels = {
    connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', error: 'Live tail unavailable',
  };
  const shown = paused ? 'paused' : liveState;
  byId('live').dataset.state = shown;
  byId('live-label').textContent = paused ? 'Paused' : labels[liveState];
}

function setPaused(value) {
  paused = value;
  const toggle = byId('live-toggle');
  toggle.textContent = paused ? 'Resume' : 'Pause';
  toggle.setAttribute('aria-pressed', String(paused));
  if (!paused) {
    if (reloadOnResume) {
      loadFirstPage();
    } else {
      const rows = [...buffered.values()].sort((a, b) => (a.id - b.id));
      buffered.clear();
      for (const row of rows) onRow(row);
    }
  }
  updateNewRows();
  showLiveState(liveState);
}

// -- stats --------------------------------------------------------------------------

async function loadStats({ quiet = false } = {}) {
  statsController?.abort();
  const controller = new AbortController();
  statsController = controller;
  const { range, filters } = state;
  if (!quiet) stats.loading(range, filters);
  try {
    stats.render(await api.getStats(range, filters, controller.signal), range, filters);
  } catch (err) {
    if (err.name !== 'AbortError') stats.error(err);
  }
}

async function loadFailures() {
  failuresController?.abort();
  const controller = new AbortController();
  failuresController = controller;
  failures.loading();
  try {
    failures.render(await api.getFailures(state.range, state.filters, controller.signal));
  } catch (err) {
    if (err.name !== 'AbortError') failures.error(err);
  }
}

function setZone(zone) {
  applyZone(byId('zone'), zone);
  byId('zone-label').textContent = `(${fmt.zoneLabel()})`;
  table.redraw();
  stats.redraw();
  failures.redraw();
  forwarding.redraw();
  if (detail.open && table.get(detail.id)) detail.render(table.get(detail.id));
}

// -- detail -------------------------------------------------------------------------

function openDetail(id) {
  detailPushed = true;
  applyState({ ...state, id: String(id) });
}

/** A delivery resent from the detail panel: the table and the forwarding view follow. */
function resent(row) {
  onRow(row);
  if (state.view === FORWARDING) forwarding.refresh();
}

function closeDetail() {
  if (detailPushed) {
    detailPushed = false;
    window.history.back(); // the entry we pushed: back closes it, as the Back button does
  } else {
    applyState({ ...state, id: null }, { history: 'replace' });
  }
}

async function syncDetail() {
  if (!state.id) {
    if (detail.open) detail.hide();
    return;
  }
  if (detail.open && detail.id === state.id) return;
  const row = table.get(state.id);
  if (row) {
    detail.render(row);
    return;
  }
  const id = state.id;
  detail.loading(id);
  try {
    const fetched = await api.getMessage(id);
    if (state.id === id) detail.render(fetched);
  } catch (err) {
    if (state.id === id) detail.failed(id, err);
  }
}

// -- events -------------------------------------------------------------------------

byId('range').addEventListener('click', (event) => {
  const range = event.target.closest('button')?.dataset.range;
  if (range) applyState({ ...state, range });
});
byId('view').addEventListener('click', (event) => {
  const view = event.target.closest('button')?.dataset.view;
  if (view) applyState({ ...state, view });
});
byId('zone').addEventListener('click', (event) => {
  const zone = event.target.closest('button')?.dataset.zone;
  if (!zone) return;
  saveZone(zone);
  setZone(zone);
});
olderButton.addEventListener('click', loadOlder);
byId('live-toggle').addEventListener('click', () => setPaused(!paused));
byId('new-rows').addEventListener('click', () => setPaused(false));
window.addEventListener('popstate', () => {
  detailPushed = false;
  applyState(query.readState(), { history: 'none' });
});
bindKeys({
  tbody: byId('rows'),
  search: () => filterForm.input('q').focus(),
  blocked: () => detail.open,
});
window.setInterval(() => {
  if (document.visibilityState !== 'visible') return;
  loadStats({ quiet: true });
  if (state.view === 'failures') loadFailures();
  if (state.view === FORWARDING) forwarding.refresh();
}, STATS_REFRESH_MS);

// -- start --------------------------------------------------------------------------

setZone(savedZone());
applyState(state, { history: 'replace', force: true });
