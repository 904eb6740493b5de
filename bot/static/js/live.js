// The live tail: one stream with the view's filters, resumed by change number on reconnect.
import { apiUrl, authHeaders } from './api.js';
import { readEventStream } from './sse.js';

const SILENCE_LIMIT_MS = 40000; // the server sends a heartbeat every 15 s
const MAX_BACKOFF_MS = 15000;
const OVERFLOW_PAUSE_MS = 500; // let the reload finish before the next flood
const READY_WAIT_MS = 3000; // a stream that does not answer must not hold the table back

export class LiveTail {
  /**
   * onReady(): subscribed (or given up waiting): load the table now, nothing falls
   * between. onRow(row): a new or updated row. onResync(): rows may have been missed,
   * reload. onState(state): 'connecting' | 'live' | 'reconnecting' | 'error'.
   */
  constructor({ onReady, onRow, onResync, onState }) {
    this.onReady = onReady;
    this.onRow = onRow;
    this.onResync = onResync;
    this.onState = onState;
    this.controller = null;
    this.generation = 0; // a restarted tail must not leave the old loop running too
    this.lastSeen = 0;
    this.lastEventId = null;
    this.watchdog = null;
  }

  /** (Re)connect with these stream filters; onReady follows once subscribed. */
  follow(filters) {
    this.stop();
    this.generation += 1;
    this.lastEventId = null; // change numbers of other filters would replay the wrong rows
    this.loop(this.generation, filters);
    this.watchdog = window.setInterval(() => {
      if (this.controller && Date.now() - this.lastSeen > SILENCE_LIMIT_MS) this.controller.abort();
    }, 5000);
  }

  stop() {
    this.generation += 1;
    window.clearInterval(this.watchdog);
    this.controller?.abort();
    this.controller = null;
  }

  async loop(generation, filters) {
    const current = () => this.generation === generation;
    let failures = 0;
    let ready = false;
    let connectedBefore = false;
    const becomeReady = () => {
      if (ready || !current()) return;
      ready = true;
      this.onReady();
    };
    const readyTimer = window.setTimeout(becomeReady, READY_WAIT_MS);
    while (current()) {
      this.onState(connectedBefore ? 'reconnecting' : 'connecting');
      const controller = new AbortController();
      this.controller = controller;
      let overflow = false;
      let unauthorized = false;
      const headers = authHeaders();
      // fetch() has no automatic Last-Event-ID; send it as EventSource would.
      if (this.lastEventId !== null) headers['Last-Event-ID'] = this.lastEventId;
      try {
        await readEventStream(apiUrl('/api/messages/stream', filters), {
          headers,
          signal: controller.signal,
          onOpen: () => {
            this.lastSeen = Date.now();
          },
          onEvent: (event) => {
            if (!current()) return;
            this.lastSeen = Date.now();
            if (event.type === 'comment' && event.data === 'connected') {
              failures = 0;
              this.onState('live');
              // Subscribed: what commits from now on comes through here. Before the first
              // load that is the moment to read the table; after a reconnect the server
              // replays what was missed, unless we had no change number to give it.
              if (!ready) becomeReady();
              else if (connectedBefore && this.lastEventId === null) this.onResync();
              connectedBefore = true;
            } else if (event.type === 'overflow' || event.type === 'error') {
              overflow = true;
              this.lastEventId = null; // too far behind to replay: reload on reconnect
              controller.abort();
            } else if (event.type === 'message') {
              if (event.id) this.lastEventId = event.id;
              this.dispatch(event.data);
            }
          },
        });
      } catch (err) {
        unauthorized = err?.status === 401;
      }
      if (!current()) break;
      // Never connected: show the table anyway, without the live guarantee.
      becomeReady();
      connectedBefore = true;
      // Overflow means we fell behind, not that the server is down: come back soon and
      // reload. Anything else backs off: 1 s, 2 s, 4 s ... 15 s.
      failures = overflow ? 0 : failures + 1;
      this.onState(unauthorized ? 'error' : 'reconnecting');
      const delay = overflow
        ? OVERFLOW_PAUSE_MS
        : Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (failures - 1));
      await new Promise((resolve) => { window.setTimeout(resolve, delay); });
    }
    window.clearTimeout(readyTimer);
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
