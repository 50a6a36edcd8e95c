// End to end under injected faults: every workflow the project runs (deploy, update, batch,
// ingest, ragQuery, teardown) against the local cloud answering 20 % of client requests with
// throttling errors and 5 % with 5xx (local/faults.ts), seeded. All must complete, and leave
// nothing behind. Fixtures are made and leftovers checked with faults off, so only the
// workflows' own calls meet them.
import { DescribeScalableTargetsCommand } from '@aws-sdk/client-application-auto-scaling';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ListEndpointConfigsCommand, ListEndpointsCommand, ListModelsCommand } from '@aws-sdk/client-sagemaker';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchTransformInput } from '../../common/batch-input.js';
import type { DeployEndpointInput } from '../../common/endpoint-input.js';
import { projectRoot } from '../../common/project-paths.js';
import type { RagQueryResult } from '../../common/rag-result.js';
import { CONTROL_TASK_QUEUE, RAG_TASK_QUEUE } from '../../common/task-queues.js';
import { readExample } from '../../dev/tools.js';
import type { BatchTransformResult } from '../../workflows/batch-transform.js';
import type { DeployEndpointResult } from '../../workflows/deploy-endpoint.js';
import type { IngestDocumentsResult } from '../../workflows/ingest-documents.js';
import type { TeardownEndpointResult } from '../../workflows/teardown-endpoint.js';
import { startE2eStack, type E2eStack } from '../support/e2e-stack.js';

const FAULTS = { throttle: 0.2, '5xx': 0.05, seed: 9 };

let stack: E2eStack;
let corpus: string;

async function faults(requests: object | null): Promise<{ injected: Record<string, number> }> {
  const res = await fetch(`${stack.cloudUrl}/_localcloud/faults`, { method: 'POST', body: JSON.stringify({ requests }) });
  expect(res.status).toBe(200);
  return (await res.json()) as { injected: Record<string, number> };
}

beforeAll(async () => {
  corpus = mkdtempSync(join(tmpdir(), 'llmops-faults-corpus-'));
  cpSync(join(projectRoot, 'examples', 'corpus'), corpus, { recursive: true });
  // Faults off (whatever the environment says) until the workflows run.
  stack = await startE2eStack({ rag: true, faults: {} });
  await stack.s3.send(new CreateBucketCommand({ Bucket: 'faults-batch' }));
  const prompts = Array.from({ length: 8 }, (_, i) => JSON.stringify({ inputs: `Story ${i}: Once upon a time`, parameters: { max_new_tokens: 4 } }));
  await stack.s3.send(new PutObjectCommand({ Bucket: 'faults-batch', Key: 'input/a.jsonl', Body: `${prompts.join('\n')}\n` }));
});
afterAll(async () => {
  await stack?.stop();
  if (corpus) rmSync(corpus, { recursive: true, force: true });
});

const run = <T>(workflow: string, workflowId: string, input: unknown, taskQueue = CONTROL_TASK_QUEUE): Promise<T> =>
  stack.env.client.workflow.execute(workflow, { taskQueue, workflowId, args: [input] });

describe('every workflow under 20 % throttling and 5 % 5xx', () => {
  it('deploys, updates, runs a batch, ingests, answers and tears down, leaving nothing behind', async () => {
    const deploy = { ...readExample<DeployEndpointInput>('deploy-local.json'), endpointName: 'faults-e2e' };
    const batch: BatchTransformInput = {
      ...readExample<BatchTransformInput>('batch-local.json'),
      jobNamePrefix: 'faults-batch',
      input: { s3Uri: 's3://faults-batch/input/', contentType: 'application/json', splitType: 'Line' },
      output: { s3Uri: 's3://faults-batch/output/', accept: 'application/json' },
      instanceCount: 1,
      maxConcurrentTransforms: 1,
    };
    await faults(FAULTS);

    const created = await run<DeployEndpointResult>('deployEndpoint', 'faults-deploy', deploy);
    expect(created.action).toBe('created');
    const updated = await run<DeployEndpointResult>('deployEndpoint', 'faults-update', { ...deploy, model: { ...deploy.model, maxInputTokens: 1024 } });
    expect(updated.action).toBe('updated');

    const batched = await run<BatchTransformResult>('batchTransform', 'faults-batch', batch);
    expect(batched).toMatchObject({ inputRecords: 8, outputRecords: 8, missingRecords: 0 });

    const ingested = await run<IngestDocumentsResult>(
      'ingestDocuments',
      'faults-ingest',
      { collection: 'faults', source: { directory: corpus }, chunkTokens: 128, overlapTokens: 16 },
      RAG_TASK_QUEUE,
    );
    expect(ingested).toMatchObject({ files: 4, documents: 6, failed: [] });
    const answer = await run<RagQueryResult>(
      'ragQuery',
      'faults-ask',
      { query: 'What is the capital of France?', endpointName: 'faults-e2e', collection: 'faults', topK: 3, generation: { max_new_tokens: 8 } },
      RAG_TASK_QUEUE,
    );
    expect(answer.sources.length).toBeGreaterThan(0);
    expect(answer.answer.length).toBeGreaterThan(0);

    const torn = await run<TeardownEndpointResult>('teardownEndpoint', 'faults-teardown', { endpointName: 'faults-e2e' });
    expect(torn.endpointDeleted).toBe(true);

    const { injected } = await faults(null);
    // The faults really happened, in numbers that make the run mean something.
    expect(injected.throttle).toBeGreaterThan(5);
    expect(injected['5xx']).toBeGreaterThan(0);

    const [endpoints, configs, models, targets] = await Promise.all([
      stack.sagemaker.send(new ListEndpointsCommand({})),
      stack.sagemaker.send(new ListEndpointConfigsCommand({})),
      stack.sagemaker.send(new ListModelsCommand({})),
      stack.autoscaling.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'sagemaker' })),
    ]);
    expect({
      endpoints: endpoints.Endpoints ?? [],
      configs: configs.EndpointConfigs ?? [],
      models: models.Models ?? [],
      targets: targets.ScalableTargets ?? [],
    }).toEqual({ endpoints: [], configs: [], models: [], targets: [] });
  }, 600_000);
});
