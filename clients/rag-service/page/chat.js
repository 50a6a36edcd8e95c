// Script of the RAG chat page (index.html). POST /rag/stream with fetch and read its body as a
// stream (EventSource cannot POST or send a header), appending each `token` event's text as it
// arrives; the `done` event brings the sources, timings and model. The API key stays in this
// tab's sessionStorage and goes out only as the x-api-key header to this same origin.
// Everything from the server is written with textContent, never as HTML.
'use strict';

const KEY_STORAGE = 'llmops.apiKey';
const $ = (id) => document.getElementById(id);
let running;

function show(id, text) {
  $(id).textContent = text;
}

/** Splits a server-sent-events buffer into complete events; returns them and the rest. */
function takeEvents(buffer) {
  const events = [];
  let at;
  while ((at = buffer.indexOf('\n\n')) >= 0) {
    const frame = buffer.slice(0, at);
    buffer = buffer.slice(at + 2);
    let event = 'message';
    const data = [];
    for (const line of frame.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (data.length) events.push({ event, data: JSON.parse(data.join('\n')) });
  }
  return { events, rest: buffer };
}

function renderSources(sources) {
  const list = $('sources');
  list.replaceChildren();
  for (const s of sources) {
    const li = document.createElement('li');
    const name = document.createElement('span');
    name.className = 'source';
    name.textContent = s.title ? `${s.title} (${s.source})` : s.source;
    const score = document.createElement('span');
    score.className = 'score';
    score.textContent = Number(s.score).toFixed(3);
    const snippet = document.createElement('span');
    snippet.className = 'snippet';
    snippet.textContent = s.snippet ?? '';
    li.append(name, score, snippet);
    list.append(li);
  }
}

function renderTimings(timings) {
  const body = $('timings').tBodies[0];
  body.replaceChildren();
  for (const [step, ms] of Object.entries(timings)) {
    const row = body.insertRow();
    row.insertCell().textContent = step;
    row.insertCell().textContent = String(Math.round(ms));
  }
}

function reset() {
  show('answer', '');
  show('error', '');
  show('meta', '');
  $('sources').replaceChildren();
  $('timings').tBodies[0].replaceChildren();
}

async function ask(event) {
  event.preventDefault();
  const apiKey = $('api-key').value.trim();
  if (!apiKey) return show('error', 'Enter an API key first (the service\'s x-api-key).');
  sessionStorage.setItem(KEY_STORAGE, apiKey);
  const body = { query: $('question').value.trim() };
  const endpointName = $('endpoint').value.trim();
  if (endpointName) body.endpointName = endpointName;
  reset();
  running = new AbortController();
  $('send').disabled = true;
  $('stop').disabled = false;
  show('status', 'retrieving…');
  try {
    const res = await fetch('/rag/stream', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
      body: JSON.stringify(body),
      signal: running.signal,
    });
    if (!res.ok) {
      const problem = await res.json().catch(() => ({}));
      throw new Error(`${res.status}: ${problem.error?.message ?? res.statusText}`);
    }
    show('meta', `endpoint ${res.headers.get('x-endpoint-name') ?? '?'} · workflow ${res.headers.get('x-workflow-id') ?? '?'}`);
    show('status', 'generating…');
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const { events, rest } = takeEvents(buffer + value);
      buffer = rest;
      for (const { event: name, data } of events) {
        if (name === 'token') $('answer').append(data.text);
        else if (name === 'done') {
          renderSources(data.sources ?? []);
          renderTimings(data.timings ?? {});
          show('meta', `endpoint ${data.model?.endpointName} (${data.model?.format}) · ${data.usage?.completionTokens ?? 0} tokens · reranker ${data.reranker} · workflow ${data.workflowId}`);
        } else if (name === 'error') throw new Error(`${data.code}: ${data.message}`);
      }
    }
    show('status', 'done');
  } catch (err) {
    show('status', '');
    show('error', err.name === 'AbortError' ? 'Stopped.' : err.message);
  } finally {
    $('send').disabled = false;
    $('stop').disabled = true;
  }
}

document.addEventListener('DOMContentLoaded', () => {
  $('api-key').value = sessionStorage.getItem(KEY_STORAGE) ?? '';
  $('api-key').addEventListener('change', () => sessionStorage.setItem(KEY_STORAGE, $('api-key').value.trim()));
  $('ask').addEventListener('submit', ask);
  $('stop').addEventListener('click', () => running?.abort());
});
