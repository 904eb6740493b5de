// A server-sent-events reader over fetch(): unlike EventSource it can send the API token.
import { ApiError } from './api.js';

function parseField(line) {
  const colon = line.indexOf(':');
  if (colon === -1) return [line, ''];
  let value = line.slice(colon + 1);
  if (value.startsWith(' ')) value = value.slice(1);
  return [line.slice(0, colon), value];
}

/**
 * Read an event stream until it ends (resolves) or fails (rejects).
 * onEvent({type, data, id}) gets every event; comments (heartbeats) arrive as type 'comment'.
 */
export async function readEventStream(url, { headers = {}, signal, onOpen, onEvent }) {
  const response = await fetch(url, {
    headers: { Accept: 'text/event-stream', ...headers },
    cache: 'no-store',
    signal,
  });
  if (!response.ok || !response.body) {
    throw new ApiError(response.status, 'stream', `The live stream answered ${response.status}.`);
  }
  onOpen?.();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let type = '';
  let data = [];
  let id = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let newline = buffer.indexOf('\n');
    while (newline !== -1) {
      const line = buffer.slice(0, newline).replace(/\r$/, '');
      buffer = buffer.slice(newline + 1);
      newline = buffer.indexOf('\n');
      if (line === '') {
        if (data.length) onEvent({ type: type || 'message', data: data.join('\n'), id });
        type = '';
        data = [];
        continue;
      }
      if (line.startsWith(':')) {
        onEvent({ type: 'comment', data: line.slice(1).trim(), id: null });
        continue;
      }
      const [field, fieldValue] = parseField(line);
      if (field === 'event') type = fieldValue;
      else if (field === 'data') data.push(fieldValue);
      else if (field === 'id') id = fieldValue;
    }
  }
}
