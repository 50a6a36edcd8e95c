// The container families beside TGI's `inputs` format, through real model processes with the
// tiny model: vLLM's OpenAI-compatible /invocations (chat and text completions, SSE ending
// `data: [DONE]`), TGI's Messages API, DJL LMI's `inputs` format with its JSON-lines stream and
// its chat schema. The tiny GGUF has no chat template; a copy of it beside a
// `chat_template.jinja` (as a Hugging Face model directory carries one) has, so each family is
// seen both applying a template and refusing `messages` without one, as the real image does.
import { mkdtempSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { modelsDirs } from '../../common/project-paths.js';
import { resolveModelFile } from '../../local/model-server/gguf-lookup.js';
import { invoke, PROMPT, startContainer, type StartedContainer } from './container-process.js';
import { parseSse } from './sse.js';
import { TINY_MODEL_ID } from './support.js';

const TEMPLATE =
  "{{ bos_token }}{% for message in messages %}{{ '<|' + message['role'] + '|>\\n' + message['content'] + '<|end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}";
const MESSAGES = [
  { role: 'system', content: 'You tell stories.' },
  { role: 'user', content: 'Tell me about a cat' },
];
const RENDERED_TAIL = '<|system|>\nYou tell stories.<|end|>\n<|user|>\nTell me about a cat<|end|>\n<|assistant|>\n';

/** A models directory holding the tiny model as `local/templated`, with a chat template beside it. */
function templatedModelsDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'llmops-chat-template-'));
  const modelDir = join(dir, 'local', 'templated');
  mkdirSync(modelDir, { recursive: true });
  symlinkSync(resolveModelFile({ modelId: TINY_MODEL_ID, dirs: modelsDirs() }), join(modelDir, 'tiny.gguf'));
  writeFileSync(join(modelDir, 'chat_template.jinja'), TEMPLATE);
  return dir;
}

const rendered = (res: { headers: Headers }) => decodeURIComponent(res.headers.get('x-local-rendered-prompt') ?? '');
const jsonLines = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

let templated: Record<string, StartedContainer>;
let plain: Record<string, StartedContainer>;
beforeAll(async () => {
  const dir = templatedModelsDir();
  const families = ['vllm', 'tgi', 'lmi'] as const;
  const [a, b] = await Promise.all([
    Promise.all(families.map((f) => startContainer({ LLMOPS_IMAGE_FAMILY: f, HF_MODEL_ID: 'local/templated', LLMOPS_MODELS_DIRS: dir }))),
    Promise.all(families.map((f) => startContainer({ LLMOPS_IMAGE_FAMILY: f }))),
  ]);
  templated = Object.fromEntries(families.map((f, i) => [f, a[i]]));
  plain = Object.fromEntries(families.map((f, i) => [f, b[i]]));
}, 120_000);

describe('vLLM container (OpenAI-compatible /invocations)', () => {
  it('routes a `prompt` body to text completions: choices[0].text and usage', async () => {
    const res = await invoke(plain.vllm.url, { prompt: PROMPT, max_tokens: 12, temperature: 0 });
    expect(res.status, res.text).toBe(200);
    const body = res.json();
    expect(body.object).toBe('text_completion');
    expect(body.id).toMatch(/^cmpl-/);
    expect(body.choices[0].text.length).toBeGreaterThan(0);
    expect(body.choices[0].finish_reason).toBe('length');
    expect(body.usage).toEqual({ prompt_tokens: expect.any(Number), completion_tokens: 12, total_tokens: body.usage.prompt_tokens + 12 });
    expect(body.model).toBe(TINY_MODEL_ID);
  });

  it('streams text completion chunks that end with data: [DONE], their text equal to the whole answer', async () => {
    const whole = (await invoke(plain.vllm.url, { prompt: PROMPT, max_tokens: 12, temperature: 0 })).json().choices[0].text;
    const res = await invoke(plain.vllm.url, { prompt: PROMPT, max_tokens: 12, temperature: 0, stream: true, stream_options: { include_usage: true } });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    expect(res.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    const events = res.text
      .split('\n\n')
      .filter((e) => e.startsWith('data: ') && !e.includes('[DONE]'))
      .map((e) => JSON.parse(e.slice(6)));
    const usage = events.pop();
    expect(usage.choices).toEqual([]);
    expect(usage.usage.completion_tokens).toBe(12);
    expect(events.every((e) => e.object === 'text_completion')).toBe(true);
    expect(events.map((e) => e.choices[0].text).join('')).toBe(whole);
    expect(events.at(-1).choices[0].finish_reason).toBe('length');
  });

  it('drops the stop string from the answer and names it in stop_reason', async () => {
    const whole = (await invoke(plain.vllm.url, { prompt: PROMPT, max_tokens: 60, temperature: 0 })).json().choices[0].text as string;
    const cut = whole.indexOf('.');
    expect(cut).toBeGreaterThan(0);
    const stopped = (await invoke(plain.vllm.url, { prompt: PROMPT, max_tokens: 60, temperature: 0, stop: ['.'] })).json().choices[0];
    expect(stopped).toMatchObject({ text: whole.slice(0, cut), finish_reason: 'stop', stop_reason: '.' });
  });

  it('applies the chat template to `messages`, answering chat.completion with the message content', async () => {
    const res = await invoke(templated.vllm.url, { messages: MESSAGES, max_tokens: 10, temperature: 0 });
    expect(res.status, res.text).toBe(200);
    expect(rendered(res).endsWith(RENDERED_TAIL)).toBe(true);
    const body = res.json();
    expect(body.object).toBe('chat.completion');
    expect(body.choices[0].message.role).toBe('assistant');
    expect(typeof body.choices[0].message.content).toBe('string');
    // The template's markers are tokens of the prompt: far more than the bare messages would take.
    const bare = (await invoke(templated.vllm.url, { prompt: 'You tell stories. Tell me about a cat', max_tokens: 1 })).json().usage.prompt_tokens;
    expect(body.usage.prompt_tokens).toBeGreaterThan(bare + 10);
  });

  it('streams chat.completion.chunk deltas: role first, content, finish_reason, then data: [DONE]', async () => {
    const whole = (await invoke(templated.vllm.url, { messages: MESSAGES, max_tokens: 10, temperature: 0 })).json().choices[0].message.content;
    const res = await invoke(templated.vllm.url, { messages: MESSAGES, max_tokens: 10, temperature: 0, stream: true });
    expect(res.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    const chunks = parseSse(res.text.replace(/data: \[DONE\]\n\n$/, '')) as Array<{
      object: string;
      choices: Array<{ delta: { role?: string; content?: string }; finish_reason: string | null }>;
    }>;
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    expect(chunks.map((c) => c.choices[0].delta.content ?? '').join('')).toBe(whole);
    expect(chunks.at(-1)!.choices[0].finish_reason).toBe('length');
  });

  it("refuses `messages` without a chat template with vLLM's 400", async () => {
    const res = await invoke(plain.vllm.url, { messages: MESSAGES, max_tokens: 4 });
    expect(res.status).toBe(400);
    expect(res.json().error).toMatchObject({ type: 'BadRequestError', code: 400, message: expect.stringMatching(/must provide a chat template/) });
  });

  it("refuses a body that is neither, and vLLM's context and sampling limits, with vLLM's words", async () => {
    const neither = await invoke(plain.vllm.url, { inputs: PROMPT });
    expect(neither.status).toBe(400);
    expect(neither.json().error.message).toBe("Cannot find suitable handler for request. Expected one of: ['ChatCompletionRequest', 'CompletionRequest']");
    const long = await invoke(plain.vllm.url, { prompt: PROMPT, max_tokens: 1_000_000 });
    expect(long.json().error.message).toMatch(/^This model's maximum context length is \d+ tokens\. However, you requested \d+ tokens/);
    expect((await invoke(plain.vllm.url, { prompt: PROMPT, top_p: 0 })).json().error.message).toBe('top_p must be in (0, 1], got 0.');
  });
});

describe("TGI's Messages API", () => {
  it('applies the chat template and answers in the OpenAI chat shape; `inputs` still works', async () => {
    const res = await invoke(templated.tgi.url, { messages: MESSAGES, max_tokens: 10, temperature: 0 });
    expect(res.status, res.text).toBe(200);
    expect(rendered(res).endsWith(RENDERED_TAIL)).toBe(true);
    expect(res.json()).toMatchObject({
      object: 'chat.completion',
      choices: [{ message: { role: 'assistant' }, finish_reason: 'length' }],
      usage: { completion_tokens: 10 },
    });
    const generate = await invoke(templated.tgi.url, { inputs: PROMPT, parameters: { max_new_tokens: 4 } });
    expect(generate.json()[0].generated_text.length).toBeGreaterThan(0);
  });

  it('streams chunks with the role in every delta, ending data:[DONE]', async () => {
    const res = await invoke(templated.tgi.url, { messages: MESSAGES, max_tokens: 6, temperature: 0, stream: true });
    expect(res.text.trimEnd().endsWith('data:[DONE]')).toBe(true);
    const chunks = res.text
      .split('\n\n')
      .filter((e) => e.startsWith('data:') && !e.includes('[DONE]'))
      .map((e) => JSON.parse(e.slice(5)));
    expect(chunks).toHaveLength(6);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.choices[0].delta.role === 'assistant')).toBe(true);
  });

  it("refuses `messages` without a chat template with TGI's 422 template_error", async () => {
    const res = await invoke(plain.tgi.url, { messages: MESSAGES });
    expect(res.status).toBe(422);
    expect(res.json()).toEqual({ error: 'Template error: template not found', error_type: 'template_error' });
  });
});

describe('DJL LMI container', () => {
  it('answers {"generated_text"} and streams JSON lines of tokens, the last with generated_text', async () => {
    const res = await invoke(plain.lmi.url, { inputs: PROMPT, parameters: { max_new_tokens: 8 } });
    expect(res.status, res.text).toBe(200);
    const { generated_text: whole } = res.json();
    expect(typeof whole).toBe('string');
    const stream = await invoke(plain.lmi.url, { inputs: PROMPT, parameters: { max_new_tokens: 8, details: true }, stream: true });
    expect(stream.headers.get('content-type')).toBe('application/jsonlines');
    const lines = jsonLines(stream.text);
    expect(lines).toHaveLength(8);
    expect(lines.map((l) => l.token.text ?? '').join('')).toBe(whole);
    expect(lines.at(-1)).toMatchObject({ generated_text: whole, details: { finish_reason: 'length', generated_tokens: 8 } });
    expect(lines[0]).not.toHaveProperty('generated_text');
    for (const l of lines) expect(l.token.log_prob).toBeLessThanOrEqual(0);
  });

  it('defaults to 30 new tokens and decodes greedily unless do_sample is set', async () => {
    const a = (await invoke(plain.lmi.url, { inputs: PROMPT, parameters: { temperature: 1.5, details: true } })).json();
    const b = (await invoke(plain.lmi.url, { inputs: PROMPT, parameters: { details: true } })).json();
    expect(a.details.generated_tokens).toBeLessThanOrEqual(30);
    expect(a.generated_text).toBe(b.generated_text);
  });

  it('applies the chat template to `messages`, streaming chat chunks as JSON lines without [DONE]', async () => {
    const res = await invoke(templated.lmi.url, { messages: MESSAGES, max_tokens: 6 });
    expect(rendered(res).endsWith(RENDERED_TAIL)).toBe(true);
    expect(res.json()).toMatchObject({ object: 'chat.completion', choices: [{ message: { role: 'assistant' }, finish_reason: 'length' }] });
    const stream = await invoke(templated.lmi.url, { messages: MESSAGES, max_tokens: 6, stream: true });
    expect(stream.text).not.toContain('[DONE]');
    const lines = jsonLines(stream.text);
    expect(lines).toHaveLength(6);
    expect(lines[0].choices[0].delta.role).toBe('assistant');
    expect(lines.map((l) => l.choices[0].delta.content).join('')).toBe(res.json().choices[0].message.content);
  });

  it("refuses `messages` without a chat template with LMI's 424", async () => {
    const res = await invoke(plain.lmi.url, { messages: MESSAGES });
    expect(res.status).toBe(424);
    expect(res.json().error).toMatch(/tokenizer\.chat_template is not set/);
  });
});
