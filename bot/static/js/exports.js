// The export links: they always carry the view's filters, and the token when one is set.
import { authHeaders, exportUrl, getToken } from './api.js';
import { byId } from './dom.js';

const FORMATS = ['csv', 'ndjson'];

async function download(link) {
  // A link cannot send an Authorization header: fetch it and save what came back.
  const response = await fetch(link.href, { headers: authHeaders() });
  if (!response.ok) throw new Error(`The export answered ${response.status}.`);
  const url = URL.createObjectURL(await response.blob());
  const save = document.createElement('a');
  save.href = url;
  save.download = link.getAttribute('download') || 'messages';
  document.body.append(save);
  save.click();
  save.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export class ExportLinks {
  constructor() {
    this.links = FORMATS.map((format) => byId(`export-${format}`));
    for (const link of this.links) {
      link.addEventListener('click', (event) => {
        if (!getToken()) return; // the plain link streams straight to disk
        event.preventDefault();
        download(link).catch((err) => { link.title = err.message; });
      });
    }
  }

  show(filters) {
    FORMATS.forEach((format, i) => {
      this.links[i].href = exportUrl(format, filters);
    });
  }
}
