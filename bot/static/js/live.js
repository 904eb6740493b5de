// The live tail: one stream connection, reconnected with back-off; rows go to the page.
import { apiUrl, authHeaders } from './api.js';
import { readEventStream } from './sse.js';

const SILENCE_LIMIT_MS = 40000; // the server sends a heartbeat every 15 s
const MAX_BACKOFF_MS = 15000;
const OVERFLOW_PAUSE_MS = 500; // let the reload finish before the next flood

export class LiveTail {
  /**
   * onRow(row): a new or updated row. onResync(): the stream was interrupted, rows may
   * have been missed, reload. onState(state): 'connecting' | 'live' | 'reconnecting' | 'error'.
   */
  constructor({ onRow, onResync, onState }) {
    this.onRow = onRow;
    this.onResync = onResync;
    this.onState = onState;
    this.controller = null;
    this.running = false;
    this.generation = 0; // a restarted tail must not leave the old loop running too
    this.lastSeen = 0;
    this.watchdog = null;
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.generation += 1;
    this.loop(this.generation);
    this.watchdog = window.setInterval(() => {
      if (this.controller && Date.now() - this.lastSeen > SILENCE_LIMIT_MS) this.controller.abort();
    }, 5000);
  }

  stop() {
    this.running = false;
    window.clearInterval(this.watchdog);
    this.controller?.abort();
  }

  async loop(generation) {
    const current = () => this.running && this.generation === generation;
    let failures = 0;
    let connectedBefore = false;
    while (current()) {
      this.onState(connectedBefore ? 'reconnecting' : 'connecting');
      const controller = new AbortController();
      this.controller = controller;
      let overflow = false;
      let unauthorized = false;
      try {
        await readEventStream(apiUrl('/api/messages/stream'), {
          headers: authHeaders(),
          signal: controller.signal,
          onOpen: () => {
            this.lastSeen = Date.now();
            failures = 0;
            this.onState('live');
            // Anything committed while we were away is only in the database: reload.
            if (connectedBefore) this.onResync();
            connectedBefore = true;
          },
          onEvent: (event) => {
            this.lastSeen = Date.now();
            if (event.type === 'overflow') {
              overflow = true;
              controller.abort();
            } else if (event.type === 'message') {
              this.dispatch(event.data);
            }
          },
        });
      } catch (err) {
        unauthorized = err?.status === 401;
      }
      if (!current()) return;
      // Overflow means we fell behind, not that the server is down: come back soon and
      // reload. Anything else backs off: 1 s, 2 s, 4 s ... 15 s.
      failures = overflow ? 0 : failures + 1;
      this.onState(unauthorized ? 'error' : 'reconnecting');
      const delay = overflow
        ? OVERFLOW_PAUSE_MS
        : Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (failures - 1));
      await new Promise((resolve) => { window.setTimeout(resolve, delay); });
    }
  }

  dispatch(text) {
    let row;
    try {
      row = JSON.parse(text);
    } catch {
      return;
    }
    if (row && typeof row.id === 'number') this.onRow(row);
  }
}
