// Keyboard use of the table: "/" to search, j and k to move between rows, Enter to open.

function typingIn(target) {
  return Boolean(target.closest?.('input, select, textarea, [contenteditable="true"]'));
}

/** The row j/k move from: the focused one, else the first. */
function step(tbody, direction) {
  const rows = [...tbody.querySelectorAll('tr.row')];
  if (!rows.length) return;
  const current = document.activeElement?.closest?.('tr.row');
  const at = current ? rows.indexOf(current) : -1;
  const next = at === -1 ? rows[0] : rows[Math.min(rows.length - 1, Math.max(0, at + direction))];
  next.focus({ preventScroll: true });
  next.scrollIntoView({ block: 'nearest' });
}

/** search(): focus the search field; blocked(): a dialog has the keyboard. */
export function bindKeys({ tbody, search, blocked }) {
  document.addEventListener('keydown', (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typingIn(event.target) || blocked()) {
      return;
    }
    if (event.key === '/') {
      event.preventDefault();
      search();
    } else if (event.key === 'j' || event.key === 'k') {
      event.preventDefault();
      step(tbody, event.key === 'j' ? 1 : -1);
    }
  });
}
