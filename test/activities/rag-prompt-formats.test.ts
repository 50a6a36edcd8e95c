// The RAG prompt as each container format receives it: the real buildPrompt (the embedding
// model's tokenizer counts the budget) and the real generate activity, sending through the AWS
// SDK to a loopback server that records each InvokeEndpoint body. Chat formats get a system
// message with the rules and a user message with the context and the question; the completion
// formats keep their promptStyle wording in one string.
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isChatFormat } from '../../common/container-format.js';
import type { ContainerFormat } from '../../activities/generation.js';
import { createRagActivities, PROMPT_TEMPLATES, RAG_SYSTEM_MESSAGE, type RetrievedChunk } from '../../activities/rag.js';
import { TEST_CREDENTIALS } from './support.js';

let server: Server;
let runtime: SageMakerRuntimeClient;
const bodies: unknown[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const parsed = JSON.parse(body) as { messages?: unknown; prompt?: unknown };
      bodies.push(parsed);
      res.setHeader('content-type', 'application/json');
      // Each family's answer shape: OpenAI chat, OpenAI completions, TGI/LMI's generated_text.
      const answer = 'Ada Lovelace.';
      if (parsed.messages) res.end(JSON.stringify({ choices: [{ message: { role: 'assistant', content: answer } }] }));
      else if (parsed.prompt) res.end(JSON.stringify({ choices: [{ text: answer }] }));
      else res.end(JSON.stringify([{ generated_text: answer }]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  runtime = new SageMakerRuntimeClient({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials: TEST_CREDENTIALS, maxAttempts: 1 });
});
afterAll(async () => {
  runtime?.destroy();
  await new Promise((resolve) => server?.close(resolve));
});

const hit = (i: number, text: string): RetrievedChunk => ({
  id: `c${i}`,
  score: 1 - i / 10,
  text,
  source: `doc${i}.md`,
  title: `Doc ${i}`,
  documentId: `d${i}`,
  chunkIndex: 0,
});
const hits = [hit(1, 'The first program was written by Ada Lovelace in 1843.'), hit(2, 'The Analytical Engine was designed by Charles Babbage.')];
const query = 'Who wrote the first program?';
const generation = { max_new_tokens: 16, temperature: 0.7, top_p: 0.9, repetition_penalty: 1.1, greedy: true };
const unused = () => {
  throw new Error('not used by buildPrompt or generate');
};

async function sent(format: ContainerFormat, promptStyle?: 'instruct' | 'base') {
  const rag = createRagActivities({ s3: unused as never, runtime, embedder: unused as never, store: unused as never });
  const built = await rag.buildPrompt({ query, hits, contextTokens: 200, format, ...(promptStyle ? { promptStyle } : {}) });
  bodies.length = 0;
  const out = await rag.generate({ endpointName: 'rag-ep', prompt: built.prompt, format, generation });
  expect(out.answer).toBe('Ada Lovelace.');
  expect(bodies).toHaveLength(1);
  return { built, body: bodies[0] as { messages?: Array<{ role: string; content: string }>; inputs?: string; prompt?: string } };
}

describe('the RAG prompt per container format', () => {
  it.each(['tgi-messages', 'vllm-chat', 'lmi-chat'] as const)(
    '%s: a system message with the rules, a user message with the context and the question',
    async (format) => {
      expect(isChatFormat(format)).toBe(true);
      const { built, body } = await sent(format);
      expect(body.messages).toEqual(built.prompt);
      const [system, user, ...rest] = body.messages!;
      expect(rest).toEqual([]);
      expect(system).toEqual({ role: 'system', content: RAG_SYSTEM_MESSAGE });
      expect(system!.content).toMatch(/only the context/);
      expect(system!.content).toMatch(/not in the context/);
      expect(system!.content).not.toContain('Ada'); // the material stays out of the rules
      expect(user!.role).toBe('user');
      expect(user!.content).toBe(`Context:\n[1] Doc 1: ${hits[0]!.text}\n[2] Doc 2: ${hits[1]!.text}\n\nQuestion: ${query}`);
      expect(built.promptTokens).toBeGreaterThan(0);
      expect(built.sources.map((s) => s.id)).toEqual(['c1', 'c2']);
    },
  );

  it('the completion formats keep one string in their promptStyle wording', async () => {
    const tgi = await sent('tgi');
    expect(tgi.body.inputs).toBe(PROMPT_TEMPLATES.instruct(query, `[1] Doc 1: ${hits[0]!.text}\n[2] Doc 2: ${hits[1]!.text}`));
    expect(tgi.body.messages).toBeUndefined();
    const base = await sent('vllm-completions', 'base');
    expect(base.body.prompt).toBe(PROMPT_TEMPLATES.base(query, `${hits[0]!.text}\n${hits[1]!.text}`));
    const lmi = await sent('lmi', 'base');
    expect(lmi.body.inputs).toBe(base.body.prompt);
  });
});
