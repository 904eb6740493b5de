// The page's time zone choice (local or UTC), remembered in this browser.
import { setUtc } from './format.js';

const ZONE_KEY = 'msglog.timeZone';

export function savedZone() {
  try {
    return localStorage.getItem(ZONE_KEY) === 'utc' ? 'utc' : 'local';
  } catch {
    return 'local';
  }
}

export function saveZone(zone) {
  try {
    localStorage.setItem(ZONE_KEY, zone);
  } catch {
    // Storage disabled: the choice lasts until the page is reloaded.
  }
}

/** Show the choice on the toggle and make format.js use it. */
export function applyZone(group, zone) {
  setUtc(zone === 'utc');
  for (const choice of group.querySelectorAll('button')) {
    choice.setAttribute('aria-pressed', String(choice.dataset.zone === zone));
  }
}
