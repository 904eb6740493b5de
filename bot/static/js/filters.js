// The filter form: shows the view's filters and reports the ones a person applies.
import { byId } from './dom.js';
import { fromLocalInput, toLocalInput } from './format.js';
import { FILTER_KEYS } from './query.js';

const SEARCH_DEBOUNCE_MS = 450;
const TIME_KEYS = new Set(['since', 'until']);

export class FilterForm {
  /** onApply(filters): the person changed the filters; onClear(): they cleared them. */
  constructor({ onApply, onClear }) {
    this.form = byId('filters');
    this.toggle = byId('filters-toggle');
    this.onApply = onApply;
    let timer = 0;
    const apply = () => {
      window.clearTimeout(timer);
      const filters = this.read();
      if (filters) this.onApply(filters);
    };
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      apply();
    });
    // Selects and date inputs apply at once; text inputs on Enter or when left.
    this.form.addEventListener('change', (event) => {
      if (event.target.name !== 'q') apply();
    });
    // Search applies as the person pauses typing.
    this.input('q').addEventListener('input', () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(apply, SEARCH_DEBOUNCE_MS);
    });
    byId('clear-filters').addEventListener('click', onClear);
    this.toggle.addEventListener('click', () => {
      const open = this.form.classList.toggle('is-open');
      this.toggle.setAttribute('aria-expanded', String(open));
    });
  }

  input(name) {
    return this.form.elements.namedItem(name);
  }

  show(filters) {
    for (const key of FILTER_KEYS) {
      const input = this.input(key);
      const value = filters[key] || '';
      input.value = TIME_KEYS.has(key) ? toLocalInput(value) : value;
      input.setCustomValidity('');
    }
    const active = FILTER_KEYS.filter((key) => key !== 'q' && filters[key]).length;
    this.toggle.textContent = active ? `Filters · ${active}` : 'Filters';
  }

  /** The form as filters, or null (with the browser's message shown) when it is invalid. */
  read() {
    const filters = {};
    for (const key of FILTER_KEYS) {
      const raw = this.input(key).value.trim();
      const value = TIME_KEYS.has(key) ? fromLocalInput(raw) : raw;
      if (value) filters[key] = value;
    }
    const until = this.input('until');
    const wrong = filters.since && filters.until
      && new Date(filters.since) >= new Date(filters.until);
    until.setCustomValidity(wrong ? 'Must be later than "From".' : '');
    if (wrong) {
      until.reportValidity();
      return null;
    }
    return filters;
  }
}
