// The row detail panel: every field, copy buttons for ids, error and content in full.
import { byId, fill, h } from './dom.js';
import * as fmt from './format.js';
import { resendable, resendButton, routeOf } from './forwarding.js';

async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // Plain-HTTP pages have no async clipboard: fall back to a selected, off-screen field.
  const area = h('textarea', { class: 'copy-buffer', readonly: true, 'aria-hidden': 'true' });
  area.value = text;
  document.body.append(area);
  area.select();
  document.execCommand('copy');
  area.remove();
}

function copyButton(value, label) {
  const button = h('button', { type: 'button', class: 'btn btn-ghost btn-small copy', 'aria-label': `Copy ${label}` }, 'Copy');
  button.addEventListener('click', async () => {
    try {
      await copyText(value);
      button.textContent = 'Copied';
    } catch {
      button.textContent = 'Copy failed';
    }
    window.setTimeout(() => { button.textContent = 'Copy'; }, 1500);
  });
  return button;
}

function field(label, value, { copy = false, mono = false, extra = null } = {}) {
  const text = value === null || value === undefined || value === '' ? '—' : String(value);
  return h('div', { class: 'kv' },
    h('dt', null, label),
    h('dd', { class: mono ? 'mono' : '' },
      h('span', { class: 'kv-value' }, text),
      extra,
      copy && text !== '—' ? copyButton(String(value), label) : null));
}

function block(title, text, tone) {
  return h('section', { class: `detail-block ${tone || ''}` },
    h('h3', null, title),
    text ? h('pre', { class: 'block-text' }, text) : h('p', { class: 'muted' }, 'None'));
}

export class DetailPanel {
  /** onResent(row): the open row was put back to pending. */
  constructor({ onClose, onResent }) {
    this.root = byId('detail');
    this.body = byId('detail-body');
    this.backdrop = byId('backdrop');
    this.title = byId('detail-title');
    this.id = null;
    this.returnFocus = null;
    this.onResent = onResent;
    this.routeCheck = null; // {id, route: Promise}: live updates re-render, ask once per row
    byId('detail-close').addEventListener('click', onClose);
    this.backdrop.addEventListener('click', onClose);
    document.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && !this.root.hidden) onClose();
    });
  }

  get open() {
    return !this.root.hidden;
  }

  show() {
    if (this.root.hidden) {
      this.returnFocus = document.activeElement;
      window.requestAnimationFrame(() => byId('detail-close').focus());
    }
    this.root.hidden = false;
    this.backdrop.hidden = false;
    document.body.classList.add('detail-open');
  }

  loading(id) {
    this.id = String(id);
    this.title.textContent = `Message #${id}`;
    this.body.replaceChildren(h('p', { class: 'state-text' }, 'Loading…'));
    this.show();
  }

  failed(id, err) {
    this.id = String(id);
    this.title.textContent = `Message #${id}`;
    const text = err.status === 404 ? 'This message does not exist (any more).' : err.message;
    this.body.replaceChildren(h('p', { class: 'state-text state-error' }, text));
    this.show();
  }

  render(row) {
    this.id = String(row.id);
    const status = fmt.statusClass(row.status);
    this.title.textContent = `Message #${row.id}`;
    fill(
      this.body,
      h('div', { class: 'detail-summary' },
        h('span', { class: `pill pill-${status}` }, row.status),
        h('span', { class: `latency ${fmt.latencyClass(row.latency_ms)}` }, fmt.latency(row.latency_ms)),
        h('span', { class: 'muted' }, `${row.attempts} attempt${row.attempts === 1 ? '' : 's'}`),
        this.resendSlot(row)),
      row.error_message ? block('Error', row.error_message, 'is-error') : null,
      block('Content', row.content || ''),
      h('dl', { class: 'kv-list' },
        field('Log id', row.id, { copy: true, mono: true }),
        field('Source message', row.kook_message_id, { copy: true, mono: true }),
        field('Source channel', row.kook_channel_id, { copy: true, mono: true }),
        field('Sender', row.sender_name),
        field('Message type', row.message_type),
        field('Target platform', row.target_platform),
        field('Target channel', row.target_channel, { copy: true, mono: true }),
        field('Status', row.status),
        field('Attempts', row.attempts),
        field('Latency', row.latency_ms === null ? null : `${row.latency_ms} ms`),
        field('Created', fmt.fullTime(row.created_at), { extra: h('span', { class: 'muted ago' }, fmt.ago(row.created_at)) }),
        field('Updated', fmt.fullTime(row.updated_at), { extra: h('span', { class: 'muted ago' }, fmt.ago(row.updated_at)) })),
    );
    this.show();
  }

  /** Where a Resend button goes once the row turns out to be a route's failed delivery. */
  resendSlot(row) {
    const slot = h('span', { class: 'detail-actions' });
    if (!resendable(row)) return slot;
    if (this.routeCheck?.id !== String(row.id)) {
      this.routeCheck = { id: String(row.id), route: routeOf(row).catch(() => null) };
    }
    this.routeCheck.route.then((route) => {
      if (!route || !slot.isConnected) return;
      slot.replaceChildren(resendButton(row.id, (updated) => {
        this.routeCheck = null;
        if (this.id === String(updated.id)) this.render(updated);
        this.onResent(updated);
      }));
    });
    return slot;
  }

  hide() {
    this.id = null;
    this.root.hidden = true;
    this.backdrop.hidden = true;
    document.body.classList.remove('detail-open');
    if (this.returnFocus && this.returnFocus.isConnected) this.returnFocus.focus();
    this.returnFocus = null;
  }
}
