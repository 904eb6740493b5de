// What the logs area shows instead of rows: loading, empty and error states.
import { byId, fill, h } from './dom.js';

export function button(label, onClick, extra = '') {
  return h('button', { type: 'button', class: `btn ${extra}`, onclick: onClick }, label);
}

/** A small form for a server that wants an API token; onToken(token) gets what was typed. */
export function tokenForm(onToken) {
  const input = h('input', {
    type: 'password', name: 'token', placeholder: 'API token', autocomplete: 'off', required: true,
  });
  const submit = (event) => {
    event.preventDefault();
    onToken(input.value.trim());
  };
  return h('form', { class: 'token-form', onsubmit: submit },
    input, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Use token'));
}

export class StateBox {
  constructor() {
    this.el = byId('state');
  }

  hide() {
    this.el.hidden = true;
    this.el.replaceChildren();
  }

  /** kind: 'loading' | 'empty' | 'error'; actions: buttons or forms shown below the text. */
  show(kind, text, ...actions) {
    this.el.hidden = false;
    this.el.dataset.kind = kind;
    fill(
      this.el,
      h('div', { class: 'state-icon', 'aria-hidden': 'true' }),
      h('p', { class: 'state-text' }, text),
      actions.length ? h('div', { class: 'state-actions' }, ...actions) : null,
    );
  }
}
