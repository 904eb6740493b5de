// The forwarding view: every route with its outcomes, a route's latest deliveries, Resend.
import { ApiError, apiUrl, authHeaders } from './api.js';
import { byId, fill, h } from './dom.js';
import * as fmt from './format.js';

export const VIEW = 'forwarding';
const PAGE_SIZE = 50;
const COUNTED = ['pending', 'failed', 'success', 'dead'];
const RESENDABLE = ['failed', 'dead'];

async function call(method, path, params = {}, signal = undefined) {
  let response;
  try {
    response = await fetch(apiUrl(path, params), {
      method, headers: { Accept: 'application/json', ...authHeaders() }, signal,
    });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', 'The server cannot be reached.');
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const error = body && body.error ? body.error : {};
    throw new ApiError(response.status, error.code || 'http_error',
      error.message || `The server answered ${response.status}.`);
  }
  return body;
}

const getRoutes = (signal) => call('GET', '/api/deliveries', {}, signal);
const getDeliveries = (routeId, params, signal) => call('GET', `/api/deliveries/${routeId}`, params, signal);

/** Back to pending, due now: the row as it is stored afterwards. */
export function resend(id) {
  return call('POST', `/api/messages/${encodeURIComponent(id)}/resend`);
}

export function resendable(row) {
  return RESENDABLE.includes(row.status);
}

/**
 * The route a logged row was delivered along, or null. Rows as listed carry no route id,
 * so a route with the row's channel and target is asked whether its delivery just at or
 * below the row's id is the row itself.
 */
export async function routeOf(row) {
  const { items } = await getRoutes();
  for (const route of items) {
    if (route.source_channel !== row.kook_channel_id || route.target_platform !== row.target_platform
      || route.target_channel !== row.target_channel) continue;
    const page = await getDeliveries(route.id, { before_id: Number(row.id) + 1, limit: 1 });
    if (page.items.length && page.items[0].id === Number(row.id)) return route;
  }
  return null;
}

/** A Resend button: onDone(row) gets the row back as pending; failures show on it. */
export function resendButton(id, onDone) {
  const button = h('button', { type: 'button', class: 'btn btn-small resend' }, 'Resend');
  button.addEventListener('click', async (event) => {
    event.stopPropagation();
    button.disabled = true;
    button.textContent = 'Resending…';
    try {
      onDone(await resend(id));
    } catch (err) {
      button.disabled = false;
      button.textContent = 'Resend';
      button.title = err.message;
      button.classList.add('is-error');
    }
  });
  return button;
}

function timeOf(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  return h('time', { datetime: iso, title: fmt.isoTime(iso) }, fmt.shortTime(iso));
}

function routeText(route) {
  return [
    h('span', { class: 'platform' }, route.source_platform),
    h('span', { class: 'target-channel' }, route.source_channel),
    h('span', { class: 'arrow', 'aria-label': 'to' }, '→'),
    h('span', { class: 'platform' }, route.target_platform),
    h('span', { class: 'target-channel' }, route.target_channel),
  ];
}

function countCell(route, status) {
  const n = route.counts[status];
  return h('td', { class: `c-num n-${status}${n ? '' : ' is-zero'}`, dataset: { status } }, fmt.count(n));
}

function errorText(text) {
  return text
    ? h('span', { class: 'error-text truncate', title: text }, text)
    : h('span', { class: 'muted' }, '—');
}

function head(...names) {
  return h('thead', null, h('tr', null, names.map(([label, cls]) => h('th', { scope: 'col', class: cls }, label))));
}

export class ForwardingView {
  /** onResent(row): a delivery went back to pending (the table may show it). */
  constructor({ onResent }) {
    this.root = byId('forwarding');
    this.note = byId('forwarding-note');
    this.list = byId('route-list');
    this.detail = byId('route-deliveries');
    this.onResent = onResent;
    this.routes = null;
    this.selected = null; // route id
    this.page = null; // {route, items, next_before_id}
    this.controller = null;
  }

  /** Load the routes and, when one is open, its deliveries again. */
  async load({ quiet = false } = {}) {
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    if (!quiet) this.root.classList.add('is-loading');
    try {
      const { items } = await getRoutes(controller.signal);
      this.routes = items;
      if (this.selected !== null && !items.some((r) => r.id === this.selected)) this.selected = null;
      this.page = this.selected === null ? null
        : await getDeliveries(this.selected, { limit: PAGE_SIZE }, controller.signal);
      this.render();
    } catch (err) {
      if (err.name !== 'AbortError') this.error(err);
    } finally {
      if (this.controller === controller) this.root.classList.remove('is-loading');
    }
  }

  refresh() {
    return this.load({ quiet: true });
  }

  select(routeId) {
    this.selected = routeId;
    this.page = null;
    this.render();
    return this.load();
  }

  async older(button) {
    const { page } = this;
    if (!page || page.next_before_id === null) return;
    button.disabled = true;
    try {
      const more = await getDeliveries(page.route.id, { limit: PAGE_SIZE, before_id: page.next_before_id });
      if (this.page !== page) return;
      this.page = { ...more, items: [...page.items, ...more.items] };
      this.renderDeliveries();
    } catch (err) {
      button.disabled = false;
      button.title = err.message;
      button.classList.add('is-error');
    }
  }

  render() {
    const routes = this.routes || [];
    const waiting = routes.reduce((n, r) => n + r.counts.pending + r.counts.failed, 0);
    const dead = routes.reduce((n, r) => n + r.counts.dead, 0);
    this.note.textContent = routes.length
      ? `${fmt.count(routes.length)} route${routes.length === 1 ? '' : 's'} · ${fmt.count(waiting)} waiting · ${fmt.count(dead)} dead`
      : '';
    if (!routes.length) {
      fill(this.list, h('p', { class: 'muted fwd-empty' },
        'No forward routes yet: add one with ', h('code', null, 'msglog routes add'),
        ' or ', h('code', null, 'POST /api/admin/routes'), '.'));
      this.detail.hidden = true;
      return;
    }
    fill(this.list, h('div', { class: 'fwd-scroll' }, h('table', { class: 'fwd-table route-table' },
      head(['Route', 'c-route'], ['State', 'c-state'], ['Pending', 'c-num'], ['Failed', 'c-num'],
        ['Success', 'c-num'], ['Dead', 'c-num'], ['Oldest waiting', 'c-when'],
        ['Last success', 'c-when'], ['Last error', 'c-fwd-error']),
      h('tbody', null, routes.map((route) => this.routeRow(route))))));
    this.renderDeliveries();
  }

  routeRow(route) {
    const selected = route.id === this.selected;
    const open = () => this.select(selected ? null : route.id);
    return h('tr', {
      class: `route${selected ? ' is-selected' : ''}${route.enabled ? '' : ' is-disabled'}`,
      dataset: { routeId: String(route.id) },
      onclick: open,
    },
    h('td', { class: 'c-route' }, h('button', {
      type: 'button', class: 'route-link', 'aria-expanded': String(selected),
      title: selected ? 'Hide its deliveries' : 'Show its latest deliveries',
      onclick: (event) => { event.stopPropagation(); open(); },
    }, routeText(route))),
    h('td', { class: 'c-state' }, h('span', { class: route.enabled ? 'state-on' : 'state-off' },
      route.enabled ? 'Enabled' : 'Disabled')),
    COUNTED.map((status) => countCell(route, status)),
    h('td', { class: 'c-when' }, timeOf(route.oldest_waiting_at)),
    h('td', { class: 'c-when' }, timeOf(route.last_success_at)),
    h('td', { class: 'c-fwd-error' }, errorText(route.last_error)));
  }

  renderDeliveries() {
    const { page } = this;
    this.detail.hidden = this.selected === null;
    if (this.selected === null) return;
    if (!page) {
      fill(this.detail, h('p', { class: 'muted fwd-empty' }, 'Loading deliveries…'));
      return;
    }
    const rows = page.items.length
      ? page.items.map((item) => this.deliveryRow(item))
      : h('tr', null, h('td', { class: 'muted fwd-none', colspan: '8' }, 'Nothing delivered along this route yet.'));
    fill(this.detail,
      h('div', { class: 'failures-head' },
        h('h3', null, 'Latest deliveries'),
        h('span', { class: 'route-name' }, routeText(page.route)),
        h('button', { type: 'button', class: 'btn btn-ghost btn-small', onclick: () => this.select(null) }, 'Close')),
      h('div', { class: 'fwd-scroll fwd-deliveries' }, h('table', { class: 'fwd-table delivery-table' },
        head(['Time', 'c-when'], ['Status', 'c-status'], ['Tries', 'c-num'], ['Latency', 'c-num'],
          ['Sender', 'c-fwd-sender'], ['Content', 'c-fwd-content'], ['Error', 'c-fwd-error'], ['', 'c-action']),
        h('tbody', null, rows))),
      page.next_before_id === null ? null
        : h('div', { class: 'pager' }, h('button', { type: 'button', class: 'btn btn-small', onclick: (event) => this.older(event.currentTarget) }, 'Older')));
  }

  deliveryRow(item) {
    const status = fmt.statusClass(item.status);
    return h('tr', { class: `delivery row-${status}`, dataset: { id: String(item.id) } },
      h('td', { class: 'c-when' }, timeOf(item.created_at)),
      h('td', { class: 'c-status' }, h('span', { class: `pill pill-${status}` }, item.status)),
      h('td', { class: 'c-num' }, String(item.attempts)),
      h('td', { class: 'c-num' }, h('span', { class: `latency ${fmt.latencyClass(item.latency_ms)}` }, fmt.latency(item.latency_ms))),
      h('td', { class: 'c-fwd-sender' }, h('span', { class: 'truncate', title: item.sender_name || '' }, item.sender_name || '—')),
      h('td', { class: 'c-fwd-content' }, h('span', { class: 'truncate', title: item.content || '' }, item.content || '')),
      h('td', { class: 'c-fwd-error' }, errorText(item.error_message)),
      h('td', { class: 'c-action' }, resendable(item)
        ? resendButton(item.id, (row) => { this.onResent(row); this.refresh(); })
        : null));
  }

  /** Times were switched between local and UTC. */
  redraw() {
    if (this.routes) this.render();
  }

  error(err) {
    this.note.textContent = '';
    this.detail.hidden = true;
    fill(this.list, h('p', { class: 'state-error fwd-empty' }, `Forwarding is unavailable: ${err.message}`));
  }
}
