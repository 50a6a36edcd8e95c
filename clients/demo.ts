// `npm run demo`: the main job end to end on the embedded local cloud. Starts the stack,
// ingests the sample corpus, deploys the tiny local model through deployEndpoint, asks a RAG
// question, invokes it (plain and streaming), runs a batch transform, tears the endpoint down
// through teardownEndpoint, checks nothing is left, and prints what happened.
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ListEndpointConfigsCommand, ListEndpointsCommand, ListModelsCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { Command } from 'commander';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createRuntimeActivities, streamGenerate } from '../activities/runtime.js';
import { parseS3Uri } from '../common/s3-uri.js';
import { readServerSentEvents } from '../activities/server-sent-events.js';
import type { BatchTransformInput } from '../common/batch-input.js';
import type { IngestDocumentsInput } from '../common/rag-input.js';
import type { RagQueryResult } from '../common/rag-result.js';
import { RAG_TASK_QUEUE } from '../common/task-queues.js';
import type { IngestDocumentsResult } from '../workflows/ingest-documents.js';
import type { DeployEndpointInput } from '../common/endpoint-input.js';
import type { BatchTransformResult } from '../workflows/batch-transform.js';
import { projectRoot } from '../common/project-paths.js';
import { startStack } from './embedded-stack.js';
import { runDeploy, runTeardown, runWorkflow } from './workflow-runs.js';
import { startRagService } from './rag-service/server.js';
import { connectClient } from './temporal-client.js';
import { localTemporalConnection } from '../common/temporal-connection.js';
import { codecConfig, localCloudConfig } from '../common/config.js';

const program = new Command('demo')
  .option(
    '--input <file>',
    'deploy input (Gemma 3 270M, installed by setup; examples/deploy-local.json is the tiny model)',
    join(projectRoot, 'examples', 'deploy-local-gemma.json'),
  )
  .option('--prompt <text>', 'prompt to send', 'Once upon a time, in a small village,')
  .option('--ingest-input <file>', 'ingestDocuments input', join(projectRoot, 'examples', 'ingest-local.json'))
  .option('--question <text>', 'question for the RAG step', 'Which environment variable sets the model of the TGI container?')
  .option('--expect <text>', 'what the RAG answer should contain (from examples/corpus/tgi-container.md)', 'HF_MODEL_ID')
  .option('--batch-input <file>', 'batchTransform input', join(projectRoot, 'examples', 'batch-local.json'))
  .option('--no-batch', 'skip the batch transform step')
  .option('--keep', 'leave the stack running afterwards (Ctrl-C to stop) to browse the Web UI')
  .option('--no-encryption', 'do not encrypt payloads (by default the demo makes a key for this run unless LLMOPS_CODEC_KEYS is set)')
  .option('--qdrant', 'run the RAG steps on Qdrant (QDRANT_URL, QDRANT_BIN, or one on localhost:6333); also LLMOPS_QDRANT=1')
  .parse();
const opts = program.opts<{
  input: string;
  prompt: string;
  ingestInput: string;
  question: string;
  expect: string;
  batchInput: string;
  batch: boolean;
  encryption: boolean;
  keep?: boolean;
  qdrant?: boolean;
}>();

const say = (line: string) => console.log(line);

// How the demo asks: Gemma 3 270M is a base model, so the prompt is worded for completion, and
// greedy decoding up to the end of the line gives one repeatable answer.
const ASK = { topK: 3, promptStyle: 'base', generation: { max_new_tokens: 40, greedy: true, repetition_penalty: 1, stop: ['\n'] } } as const;
const section = (title: string) => say(`\n== ${title}`);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The HTTP business service: POST /rag/stream, printing tokens as server-sent events arrive. */
async function sseStep(client: Awaited<ReturnType<typeof connectClient>>, runtime: SageMakerRuntimeClient, endpointName: string, collection: string) {
  const apiKey = randomBytes(16).toString('hex'); // this run's only key; never printed
  const service = await startRagService({
    port: 0,
    client,
    runtime,
    sagemaker: new SageMakerClient({}),
    apiKeys: [{ key: apiKey, endpoints: [endpointName], collections: [collection] }],
  });
  try {
    section(`HTTP service: POST ${service.url}/rag/stream (server-sent events)`);
    const res = await fetch(`${service.url}/rag/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
      body: JSON.stringify({ query: opts.question, ...ASK }),
    });
    if (!res.ok) throw new Error(`/rag/stream answered ${res.status}: ${await res.text()}`);
    process.stdout.write('  ');
    for await (const { event, data } of readServerSentEvents(res.body as AsyncIterable<Uint8Array>)) {
      const payload = JSON.parse(data);
      if (event === 'token') process.stdout.write(payload.text);
      if (event === 'error') throw new Error(`stream error: ${payload.message}`);
      if (event === 'done')
        say(`\n  [first token after ${payload.timings.ttft} ms, done after ${payload.timings.total} ms; ${payload.sources.length} sources]`);
    }
  } finally {
    await service.close();
  }
}

/** What Temporal stored for a run, read without the key: every payload's encoding. */
async function showEncryptedHistory(temporalAddress: string, workflowId: string): Promise<void> {
  const raw = new Client({ connection: await Connection.connect({ address: temporalAddress }) });
  const events = (await raw.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const encodings = events.flatMap((e) =>
    [
      e.workflowExecutionStartedEventAttributes?.input,
      e.activityTaskScheduledEventAttributes?.input,
      e.activityTaskCompletedEventAttributes?.result,
      e.workflowExecutionCompletedEventAttributes?.result,
    ]
      .flatMap((p) => p?.payloads ?? [])
      .map((p) => Buffer.from(p.metadata?.encoding ?? []).toString('utf8')),
  );
  const encrypted = encodings.filter((e) => e === 'binary/encrypted').length;
  say(`  history of ${workflowId}, read without the key: ${encrypted} of ${encodings.length} payloads are binary/encrypted`);
  await raw.connection.close();
}

/** Uploads the sample prompts and runs them through a Batch Transform job. */
async function batchStep(client: Awaited<ReturnType<typeof connectClient>>): Promise<void> {
  const batch = JSON.parse(readFileSync(opts.batchInput, 'utf8')) as BatchTransformInput;
  const { bucket, key } = parseS3Uri(batch.input.s3Uri);
  const prompts = readFileSync(join(projectRoot, 'examples', 'prompts.jsonl'));
  section(`Batch transform of examples/prompts.jsonl (workflow batch-demo)`);
  const s3 = new S3Client({ forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch((err: Error) => {
    if (err.name !== 'BucketAlreadyOwnedByYou' && err.name !== 'BucketAlreadyExists') throw err;
  });
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${key}prompts.jsonl`, Body: prompts }));
  const result = await runWorkflow<BatchTransformResult>(client, 'batchTransform', 'batch-demo', batch, (l) => say(`  ${l}`));
  say(`  job ${result.jobName}: ${result.inputRecords} records in, ${result.outputRecords} out, job ran ${result.jobDurationSeconds} s`);
  const out = parseS3Uri(result.outputS3Uri);
  const body = await (
    await s3.send(new GetObjectCommand({ Bucket: out.bucket, Key: `${out.key.replace(/\/?$/, '/')}prompts.jsonl.out` }))
  ).Body!.transformToString();
  for (const line of body.split('\n').slice(0, 2)) say(`  ${line}`);
  if (result.missingRecords) throw new Error(`${result.missingRecords} records have no output`);
}

async function main(): Promise<void> {
  // The SDK warns that node 20 support ends in 2027; the README says so once, the demo needn't.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // The demo prints its own report; components' info logs would interleave with it.
  process.env.LLMOPS_LOG_LEVEL ??= process.env.LOG_LEVEL ?? 'warn';
  const input = JSON.parse(readFileSync(opts.input, 'utf8')) as DeployEndpointInput;
  const stateDir = join(projectRoot, '.demo');
  rmSync(stateDir, { recursive: true, force: true }); // each demo starts from an empty cloud

  // Payload encryption on, as a user would run it: a key for this run only (its history goes with
  // .demo/), unless the user brought keys of their own. Never printed.
  if (opts.encryption && !codecConfig.read().LLMOPS_CODEC_KEYS && !codecConfig.read().LLMOPS_CODEC_KEYS_FILE) {
    process.env.LLMOPS_CODEC_KEYS = `demo-${randomBytes(3).toString('hex')}:${randomBytes(32).toString('base64')}`;
  }

  section('Starting the embedded stack');
  const t0 = performance.now();
  const stack = await startStack({ stateDir, qdrant: opts.qdrant || localCloudConfig.read().LLMOPS_QDRANT });
  say(`Temporal ${stack.temporalAddress}, Web UI ${stack.webUiUrl}, local cloud ${stack.awsEndpointUrl} (${seconds(performance.now() - t0)})`);
  if (stack.qdrant) say(`Vector store: Qdrant, ${stack.qdrant.how}`);
  if (stack.codecServerUrl) say(`Payloads encrypted (AES-256-GCM); the Web UI decodes them through the codec server at ${stack.codecServerUrl}`);
  let ok = false;
  let statesFact = false;
  try {
    const client = await connectClient(localTemporalConnection(stack.temporalAddress));
    const runtime = new SageMakerRuntimeClient({});

    section('Ingesting the sample corpus (workflow ingest-demo, task queue rag)');
    const ingestInput = JSON.parse(readFileSync(opts.ingestInput, 'utf8')) as IngestDocumentsInput;
    const ingested = await runWorkflow<IngestDocumentsResult>(client, 'ingestDocuments', 'ingest-demo', ingestInput, (l) => say(`  ${l}`), RAG_TASK_QUEUE);
    say(
      `  ${ingested.files} files, ${ingested.documents} documents, ${ingested.chunks} chunks, ${ingested.upserted} upserted, ${ingested.failed.length} failed`,
    );

    section(`Deploying endpoint '${input.endpointName}' (workflow deploy-${input.endpointName})`);
    const deployed = await runDeploy(client, input, (l) => say(`  ${l}`));
    say(`  ${deployed.action}: ${deployed.endpointArn}`);
    say(`  model ${deployed.modelName}, config ${deployed.endpointConfigName}, role ${deployed.roleArn}`);
    if (deployed.autoscaling) say(`  autoscaling: ${deployed.autoscaling.resourceId}`);
    say(
      `  step timings: ${Object.entries(deployed.timings)
        .map(([k, v]) => `${k} ${seconds(v)}`)
        .join(', ')}`,
    );
    if (deployed.smokeTest) say(`  smoke test (${deployed.smokeTest.latencyMs} ms): ${JSON.stringify(deployed.smokeTest.generatedText)}`);
    if (stack.codecServerUrl) await showEncryptedHistory(stack.temporalAddress, `deploy-${input.endpointName}`);

    section(`RAG: ${opts.question}`);
    const answer = await runWorkflow<RagQueryResult>(
      client,
      'ragQuery',
      'ask-demo',
      { query: opts.question, endpointName: input.endpointName, collection: ingestInput.collection, ...ASK },
      () => {},
      RAG_TASK_QUEUE,
    );
    say(`  answer: ${JSON.stringify(answer.answer.trim())}`);
    statesFact = answer.answer.includes(opts.expect);
    say(statesFact ? `  the answer states the fact from the corpus (${opts.expect})` : `  the answer does not contain '${opts.expect}'`);
    for (const src of answer.sources) say(`  source ${src.source} (score ${src.score.toFixed(3)}): ${src.snippet.slice(0, 80).replace(/\s+/g, ' ')}…`);
    say(
      `  timings: ${Object.entries(answer.timings)
        .map(([k, v]) => `${k} ${v} ms`)
        .join(', ')}; reranker: ${answer.reranker}`,
    );

    await sseStep(client, runtime, input.endpointName, ingestInput.collection ?? 'documents');

    section('InvokeEndpoint');
    const params = { max_new_tokens: 48, temperature: 0.8, top_p: 0.9, repetition_penalty: 1.1 };
    const full = await createRuntimeActivities({ runtime }).invokeEndpoint({ endpointName: input.endpointName, inputs: opts.prompt, parameters: params });
    say(`  ${opts.prompt}${full.generatedText}`);
    say(`  [${full.latencyMs} ms, variant ${full.invokedVariant}]`);

    section('InvokeEndpointWithResponseStream');
    process.stdout.write(`  ${opts.prompt}`);
    const streamed = await streamGenerate(runtime, { endpointName: input.endpointName, inputs: opts.prompt, parameters: params }, (t) =>
      process.stdout.write(t),
    );
    say(`\n  [${streamed.tokens} tokens, first token after ${streamed.timeToFirstTokenMs} ms, complete after ${streamed.latencyMs} ms]`);

    if (opts.batch) await batchStep(client);

    section(`Tearing down '${input.endpointName}' (workflow teardown-${input.endpointName})`);
    const torn = await runTeardown(client, { endpointName: input.endpointName }, (l) => say(`  ${l}`));
    say(`  deregistered ${torn.deregisteredScalableTargets.length} scalable target(s), endpoint deleted: ${torn.endpointDeleted}`);
    say(`  deleted configs: ${torn.deletedEndpointConfigs.join(', ') || 'none'}; models: ${torn.deletedModels.join(', ') || 'none'}`);

    const sagemaker = new SageMakerClient({});
    const left = [
      ...((await sagemaker.send(new ListEndpointsCommand({}))).Endpoints ?? []).map((e) => `endpoint ${e.EndpointName}`),
      ...((await sagemaker.send(new ListEndpointConfigsCommand({}))).EndpointConfigs ?? []).map((c) => `config ${c.EndpointConfigName}`),
      ...((await sagemaker.send(new ListModelsCommand({}))).Models ?? []).map((m) => `model ${m.ModelName}`),
    ];
    say(left.length ? `  LEFT BEHIND: ${left.join(', ')}` : '  nothing left in the local cloud');

    section('See it in the Temporal Web UI');
    say(`  ${stack.webUiUrl}/namespaces/default/workflows?query=${encodeURIComponent(`EndpointName="${input.endpointName}"`)}`);
    say(`  ${stack.webUiUrl}/namespaces/default/workflows/deploy-${input.endpointName}`);
    ok = left.length === 0 && statesFact;
    if (opts.keep) {
      say('\nStack left running; press Ctrl-C to stop it.');
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    }
  } finally {
    section('Stopping the stack');
    await stack.stop();
    say(ok ? 'Demo finished: ingest → deploy → ask → stream → batch → teardown all succeeded.' : 'Demo finished with problems (see above).');
  }
  if (!ok) process.exitCode = 1;
}

main().then(
  () => process.exit(),
  (err: unknown) => {
    console.error(`\nDemo failed: ${(err as Error).message}`);
    process.exit(1);
  },
);
