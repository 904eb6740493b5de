// The logs table: rows newest first, keyed by id, so live updates replace lines in place.
import { h } from './dom.js';
import * as fmt from './format.js';

/** True when row a is shown above row b (created_at DESC, id DESC, like the API). */
function above(a, b) {
  if (a.created_at !== b.created_at) return a.created_at > b.created_at;
  return a.id > b.id;
}

function cell(name, ...children) {
  return h('td', { class: `c-${name}` }, ...children);
}

/** The shown time: clock today, date with year before; the full ISO 8601 on hover. */
function timeOf(iso) {
  return h('time', { datetime: iso, title: fmt.isoTime(iso) }, fmt.shortTime(iso));
}

function renderRow(row) {
  const status = fmt.statusClass(row.status);
  const content = row.content || '';
  const error = row.error_message || '';
  const attempts = Number(row.attempts) || 0;
  return h(
    'tr',
    { class: `row row-${status}`, tabindex: '0', dataset: { id: String(row.id) } },
    cell('time', timeOf(row.created_at)),
    cell('channel', h('span', { class: 'truncate', title: row.kook_channel_id },
      row.kook_channel_id)),
    cell('sender', h('span', { class: 'truncate', title: row.sender_name || '' },
      row.sender_name || '—')),
    cell('content', h('div', { class: content ? 'content-text' : 'content-text is-empty' },
      content || 'no text')),
    cell('target',
      h('span', { class: 'platform' }, row.target_platform || '—'),
      h('span', { class: 'target-channel', title: row.target_channel }, row.target_channel)),
    cell('status', h('span', { class: `pill pill-${status}` }, row.status)),
    cell('attempts', h('span', { class: attempts > 1 ? 'attempts retried' : 'attempts' },
      String(attempts))),
    cell('latency', h('span', { class: `latency ${fmt.latencyClass(row.latency_ms)}` },
      fmt.latency(row.latency_ms))),
    cell('error', error
      ? h('span', { class: 'error-text truncate', title: error }, error)
      : h('span', { class: 'muted' }, '—')),
  );
}

export class LogTable {
  constructor(tbody, { onOpen }) {
    this.tbody = tbody;
    this.entries = new Map(); // id -> {row, tr}
    this.order = []; // ids, top to bottom
    tbody.addEventListener('click', (event) => {
      const tr = event.target.closest('tr.row');
      if (!tr || window.getSelection()?.toString()) return;
      if (event.target.closest('.c-content')) tr.classList.toggle('expanded');
      else onOpen(tr.dataset.id);
    });
    tbody.addEventListener('keydown', (event) => {
      const tr = event.target.closest('tr.row');
      if (tr && (event.key === 'Enter' || event.key === ' ')) {
        event.preventDefault();
        onOpen(tr.dataset.id);
      }
    });
  }

  get size() {
    return this.order.length;
  }

  get(id) {
    return this.entries.get(Number(id))?.row;
  }

  setRows(rows) {
    this.entries.clear();
    this.order = [];
    this.tbody.replaceChildren();
    this.appendRows(rows);
  }

  /** An older page: goes below what is shown (rows already shown are skipped). */
  appendRows(rows) {
    const fragment = document.createDocumentFragment();
    for (const row of rows) {
      if (this.entries.has(row.id)) continue;
      const tr = renderRow(row);
      this.entries.set(row.id, { row, tr });
      this.order.push(row.id);
      fragment.append(tr);
    }
    this.tbody.append(fragment);
  }

  /**
   * A row from the live tail: replaces its line, or slides in where it sorts.
   * A row older than everything shown while older pages exist belongs to one of those
   * pages and is left for "Older". Returns 'replaced', 'inserted' or 'ignored'.
   */
  put(row, { hasMore }) {
    const existing = this.entries.get(row.id);
    if (existing) {
      const tr = renderRow(row);
      if (existing.tr.classList.contains('expanded')) tr.classList.add('expanded');
      tr.classList.add('is-updated');
      existing.tr.replaceWith(tr);
      this.entries.set(row.id, { row, tr });
      return 'replaced';
    }
    let index = this.order.findIndex((id) => above(row, this.entries.get(id).row));
    if (index === -1) {
      if (hasMore) return 'ignored';
      index = this.order.length;
    }
    const tr = renderRow(row);
    tr.classList.add('is-new');
    const next = this.order[index];
    if (next === undefined) this.tbody.append(tr);
    else this.entries.get(next).tr.before(tr);
    this.order.splice(index, 0, row.id);
    this.entries.set(row.id, { row, tr });
    return 'inserted';
  }

  /** Keep at most max lines (a long live tail); returns the new last id when it cut. */
  trim(max) {
    if (this.order.length <= max) return null;
    for (const id of this.order.splice(max)) {
      this.entries.get(id).tr.remove();
      this.entries.delete(id);
    }
    return this.order[this.order.length - 1];
  }

  /** The zone changed: every time cell again (the rest of a line does not depend on it). */
  redraw() {
    for (const { row, tr } of this.entries.values()) {
      tr.querySelector('.c-time').replaceChildren(timeOf(row.created_at));
    }
  }

  remove(id) {
    const entry = this.entries.get(id);
    if (!entry) return;
    entry.tr.remove();
    this.entries.delete(id);
    this.order = this.order.filter((other) => other !== id);
  }
}
