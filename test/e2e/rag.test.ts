// End to end for RAG: a dev server, the control and rag workers, the local cloud with a real
// endpoint, the real embedding model and the vector store: the run's Qdrant server when there
// is one (test/support/qdrant-global-setup.ts), else the embedded LanceDB store. Ingest the
// sample corpus (twice, then with an edit), then ask through ragQuery.
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMonitoringRecords } from '../../activities/monitoring.js';
import { QdrantVectorStore } from '../../activities/vector-store/qdrant.js';
import type { DeployEndpointInput } from '../../common/endpoint-input.js';
import type { RagQueryResult } from '../../common/rag-result.js';
import { CONTROL_TASK_QUEUE, RAG_TASK_QUEUE } from '../../common/task-queues.js';
import { projectRoot } from '../../common/project-paths.js';
import { readExample } from '../../dev/tools.js';
import type { IngestDocumentsResult } from '../../workflows/ingest-documents.js';
import { startE2eStack, type E2eStack } from '../support/e2e-stack.js';
import { qdrantUnderTest } from '../support/qdrant.js';

const qdrant = qdrantUnderTest('rag end-to-end', 'running it on the embedded LanceDB store');
// A Qdrant given by QDRANT_URL may outlive this run: collections of its own, dropped afterwards.
const suffix = Date.now().toString(36);
const E2E = `e2e_${suffix}`;
const S3DOCS = `s3docs_${suffix}`;

let stack: E2eStack;
let corpus: string;
let runs = 0;

beforeAll(async () => {
  corpus = mkdtempSync(join(tmpdir(), 'llmops-corpus-'));
  cpSync(join(projectRoot, 'examples', 'corpus'), corpus, { recursive: true });
  stack = await startE2eStack({ rag: true, qdrantUrl: qdrant?.url });
  const deploy = readExample<DeployEndpointInput>('deploy-local.json');
  await stack.env.client.workflow.execute('deployEndpoint', {
    taskQueue: CONTROL_TASK_QUEUE,
    workflowId: 'deploy-rag',
    args: [{ ...deploy, endpointName: 'rag-e2e', autoscaling: undefined }],
  });
});
afterAll(async () => {
  await stack?.env.client.workflow.execute('teardownEndpoint', {
    taskQueue: CONTROL_TASK_QUEUE,
    workflowId: 'teardown-rag',
    args: [{ endpointName: 'rag-e2e' }],
  });
  await stack?.stop();
  if (qdrant) {
    const store = new QdrantVectorStore({ url: qdrant.url, apiKey: process.env.QDRANT_API_KEY });
    for (const name of [E2E, S3DOCS]) await store.dropCollection(name).catch(() => undefined);
    await store.close();
  }
  rmSync(corpus, { recursive: true, force: true });
});

const ingest = (): Promise<IngestDocumentsResult> =>
  stack.env.client.workflow.execute('ingestDocuments', {
    taskQueue: RAG_TASK_QUEUE,
    workflowId: `ingest-${++runs}`,
    args: [{ collection: E2E, source: { directory: corpus }, chunkTokens: 128, overlapTokens: 16 }],
  });

const ask = (query: string, extra: object = {}): Promise<RagQueryResult> =>
  stack.env.client.workflow.execute('ragQuery', {
    taskQueue: RAG_TASK_QUEUE,
    workflowId: `ask-${++runs}`,
    args: [{ query, endpointName: 'rag-e2e', collection: E2E, topK: 3, generation: { max_new_tokens: 24 }, ...extra }],
  });

describe('ingest → ask on the local cloud', () => {
  it('ingests the corpus, and re-ingesting the same corpus changes nothing', async () => {
    const first = await ingest();
    expect(first).toMatchObject({ files: 4, documents: 6, unchanged: 0, failed: [] });
    expect(first.upserted).toBe(first.chunks);
    if (qdrant) {
      // The points really went to that server, not to a fallback store.
      const store = new QdrantVectorStore({ url: qdrant.url, apiKey: process.env.QDRANT_API_KEY });
      expect(await store.count(E2E)).toBe(first.chunks);
      await store.close();
    }
    const second = await ingest();
    expect(second).toMatchObject({ documents: 6, upserted: 0, unchanged: 6 });
  });

  it('an edited document replaces its chunks', async () => {
    writeFileSync(join(corpus, 'tgi-container.md'), '# The TGI container\n\nRewritten: TGI reads HF_MODEL_ID and streams tokens.\n');
    const third = await ingest();
    expect(third).toMatchObject({ unchanged: 5, upserted: 1 });
    const result = await ask('What environment variable names the model in TGI?', { prepareOnly: true });
    expect(result.sources.some((s) => s.snippet.includes('Rewritten'))).toBe(true);
    expect(result.sources.some((s) => s.source === 'tgi-container.md' && !s.snippet.includes('Rewritten'))).toBe(false);
  });

  it('answers a question with sources, timings and a monitoring record', async () => {
    const result = await ask('How do I scale a SageMaker endpoint with autoscaling?');
    expect(result.answer.trim().length).toBeGreaterThan(0);
    expect(result.sources[0].source).toBe('sagemaker-autoscaling.md');
    expect(result.prompt).toContain('User query: How do I scale a SageMaker endpoint with autoscaling?');
    expect(result.prompt).toContain('Application Auto Scaling');
    expect(Object.keys(result.timings)).toEqual(['embed', 'retrieve', 'rerank', 'buildPrompt', 'generate']);
    expect(result.reranker).toMatch(/^none: /);
    expect(result.usage.completionTokens).toBeGreaterThan(0);

    const records = await readMonitoringRecords({ file: stack.monitoringFile });
    const last = records.at(-1)!;
    expect(last).toMatchObject({ via: 'workflow', query: result.query, answer: result.answer, prompt: result.prompt });
  });

  it('ingests from an S3 prefix too, reporting a malformed file without stopping', async () => {
    await stack.s3.send(new CreateBucketCommand({ Bucket: 'rag-docs' }));
    const doc = { id: 's3-doc', title: 'Quota increases', text: 'Request a service quota increase for ml.g5 endpoint instances before a launch.' };
    await stack.s3.send(new PutObjectCommand({ Bucket: 'rag-docs', Key: 'kb/quotas.jsonl', Body: JSON.stringify(doc) }));
    await stack.s3.send(new PutObjectCommand({ Bucket: 'rag-docs', Key: 'kb/broken.jsonl', Body: '{"id": "x", "text": ' }));
    const result: IngestDocumentsResult = await stack.env.client.workflow.execute('ingestDocuments', {
      taskQueue: RAG_TASK_QUEUE,
      workflowId: `ingest-${++runs}`,
      args: [{ collection: S3DOCS, source: { s3Uri: 's3://rag-docs/kb/' } }],
    });
    expect(result).toMatchObject({ files: 2, documents: 1, upserted: 1 });
    expect(result.failed).toEqual([{ file: 'broken.jsonl', reason: 'broken.jsonl:1: not valid JSON' }]);
    const answer = await ask('How do I get more GPU instances?', { collection: S3DOCS, prepareOnly: true });
    expect(answer.sources[0]).toMatchObject({ source: 'quotas.jsonl', title: 'Quota increases' });
  });

  it('filters by payload and rejects a bad query before any step', async () => {
    const faqOnly = await ask('What happens when an endpoint fails?', { prepareOnly: true, filter: { author: 'platform-team' } });
    expect(faqOnly.sources.length).toBeGreaterThan(0);
    expect(faqOnly.sources.every((s) => s.source === 'faq.jsonl')).toBe(true);
    const err = await ask('   ').catch((e: Error & { cause?: Error }) => e.cause?.message);
    expect(err).toMatch(/^Invalid ragQuery input: query: must not be empty/);
  });
});
