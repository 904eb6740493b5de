// The failures view: failed rows grouped by error message; picking one filters the table.
import { byId, fill, h } from './dom.js';
import * as fmt from './format.js';

const SHOWN_TARGETS = 4;
const MAX_QUERY = 256; // the listing's q takes at most this much

/** The search that finds a group's rows: its message, cut at a word within q's limit. */
export function errorQuery(message) {
  const text = (message || '').trim();
  if (text.length <= MAX_QUERY) return text;
  const cut = text.slice(0, MAX_QUERY);
  const space = cut.lastIndexOf(' ');
  return space > 0 ? cut.slice(0, space) : cut;
}

function targetText(target) {
  return `${target.platform || '—'} ${target.channel || '—'}`;
}

function groupItem(group, onPick) {
  const shown = group.targets.slice(0, SHOWN_TARGETS);
  const more = group.target_count - shown.length;
  const message = group.error_message || 'no error message';
  return h('li', null,
    h('button', {
      type: 'button',
      class: 'failure',
      title: `Show these rows: ${message}`,
      dataset: { count: String(group.count) },
      onclick: () => onPick(group),
    },
    h('span', { class: 'failure-count' }, fmt.count(group.count)),
    h('span', { class: group.error_message ? 'failure-message' : 'failure-message is-empty' }, message),
    h('span', { class: 'failure-targets' },
      shown.map((t) => h('span', { class: 'target-chip', title: `${fmt.count(t.count)} failed` }, targetText(t))),
      more > 0 ? h('span', { class: 'muted' }, `+${more} more`) : null),
    h('time', { class: 'failure-last', datetime: group.last_seen, title: fmt.isoTime(group.last_seen) },
      fmt.shortTime(group.last_seen))));
}

export class FailuresView {
  /** onPick(group): the person chose a group to see its rows. */
  constructor({ onPick }) {
    this.root = byId('failures');
    this.list = byId('failure-list');
    this.note = byId('failures-note');
    this.onPick = onPick;
    this.last = null;
  }

  loading() {
    this.root.classList.add('is-loading');
  }

  render(body) {
    this.last = body;
    this.root.classList.remove('is-loading');
    const groups = body.groups || [];
    this.note.textContent = `${fmt.count(body.total)} failed · ${fmt.count(groups.length)} `
      + `error${groups.length === 1 ? '' : 's'}${groups.length ? ' · click one to filter the table' : ''}`;
    if (!groups.length) {
      fill(this.list, h('li', { class: 'muted failure-none' }, 'No failures in this range.'));
      return;
    }
    fill(this.list, groups.map((group) => groupItem(group, this.onPick)));
  }

  /** Times were switched between local and UTC. */
  redraw() {
    if (this.last) this.render(this.last);
  }

  error(err) {
    this.root.classList.remove('is-loading');
    this.last = null;
    fill(this.list, h('li', { class: 'state-error' }, `Failures are unavailable: ${err.message}`));
  }
}
