// `npm run llmops -- <command>`: start and follow the endpoint workflows, and invoke endpoints.
// Talks to Temporal at TEMPORAL_ADDRESS and to AWS (or the local cloud) via AWS_ENDPOINT_URL.
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { WorkflowFailedError } from '@temporalio/client';
import { Command, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import type { ContainerFormat } from '../activities/generation';
import { readMonitoringRecords, type MonitoringRecord } from '../activities/monitoring';
import { createRuntimeActivities, streamGenerate } from '../activities/runtime';
import { batchTransformInputSchema } from '../common/batch-input';
import { deployEndpointInputSchema, type DeployEndpointInput } from '../common/endpoint-input';
import { InvalidInputError, parseInput } from '../common/input-parsing';
import { ragQueryInputSchema, type RagQueryResult } from '../common/rag-input';
import type { Progress } from '../workflows/progress';
import { executeRagQuery, runDeploy, runTeardown, runWorkflow } from './workflow-runs';
import { connectClient } from './temporal-client';

const positiveInt = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
};
const print = (line: string) => process.stderr.write(`${line}\n`);
const oneLine = (text: string, max: number) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};
const formatTimings = (timings: Record<string, number>) =>
  Object.entries(timings)
    .map(([step, ms]) => `${step} ${ms}`)
    .join(' · ');

function printRagResult(result: RagQueryResult, extra: Record<string, number>): void {
  console.log(result.answer.trim());
  console.log('\nSources:');
  if (!result.sources.length) console.log('  (none: nothing in the collection matched)');
  result.sources.forEach((s, i) => {
    console.log(`  [${i + 1}] ${s.score.toFixed(3)}  ${s.source}${s.title ? ` (${s.title})` : ''}  id ${s.id}`);
    console.log(`      ${oneLine(s.snippet, 160)}`);
  });
  console.log(`\nTimings (ms): ${formatTimings({ ...result.timings, ...extra })}`);
  console.log(`Tokens: prompt ${result.usage.promptTokens}, completion ${result.usage.completionTokens ?? '?'}; context chunks ${result.usage.contextChunks}`);
  console.log(`Reranker: ${result.reranker}`);
}

function printMonitoringRecord(r: MonitoringRecord): void {
  const total = Object.values(r.timings).reduce((sum, ms) => sum + ms, 0);
  const step = formatTimings(r.timings);
  console.log(`${r.at}  ${r.via.padEnd(8)} ${r.model.endpointName}  ${r.workflowId ?? ''}`);
  console.log(`  Q: ${oneLine(r.query, 120)}`);
  console.log(`  A: ${oneLine(r.answer, 120)}`);
  console.log(`  ${r.sources.length} sources (${r.sources.map((s) => s.source).join(', ')}); tokens ${r.usage.promptTokens} in / ${r.usage.completionTokens ?? '?'} out; ${step} (sum ${total} ms)`);
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`Cannot read ${path} as JSON: ${(err as Error).message}`);
  }
}

// The SDK warns on every run that node 20 support ends in 2027; the README says it once.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const program = new Command('llmops').description('Durable LLM operations on Amazon SageMaker, through Temporal');

program
  .command('deploy')
  .description('start (or attach to) deployEndpoint for an input file and follow it to the end')
  .argument('<input-file>', 'JSON input, e.g. examples/deploy-local.json')
  .action(async (file: string) => {
    const raw = readJson(file);
    // Same validation the workflow does, so a typo fails here before anything starts.
    parseInput(deployEndpointInputSchema, 'deployEndpoint', raw);
    const result = await runDeploy(await connectClient(), raw as DeployEndpointInput, print);
    console.log(JSON.stringify(result, null, 2));
  });

program
  .command('teardown')
  .description('start (or attach to) teardownEndpoint and follow it')
  .argument('<endpoint-name>')
  .action(async (endpointName: string) => {
    console.log(JSON.stringify(await runTeardown(await connectClient(), { endpointName }, print), null, 2));
  });

program
  .command('batch')
  .description('start (or attach to) batchTransform for an input file and follow it to the end')
  .argument('<input-file>', 'JSON input, e.g. examples/batch-local.json')
  .requiredOption('--workflow-id <id>', 'names the run; the transform job name is derived from it')
  .action(async (file: string, opts: { workflowId: string }) => {
    const raw = readJson(file);
    parseInput(batchTransformInputSchema, 'batchTransform', raw);
    console.log(JSON.stringify(await runWorkflow(await connectClient(), 'batchTransform', opts.workflowId, raw, print), null, 2));
  });

program
  .command('status')
  .description("print a workflow's progress query (default workflow id: deploy-<endpoint-name>)")
  .argument('<endpoint-name>')
  .option('--workflow-id <id>')
  .action(async (endpointName: string, opts: { workflowId?: string }) => {
    const client = await connectClient();
    const progress = await client.workflow.getHandle(opts.workflowId ?? `deploy-${endpointName}`).query<Progress>('progress');
    console.log(JSON.stringify(progress, null, 2));
  });

program
  .command('invoke')
  .description('generate text with an endpoint; --stream prints tokens as they arrive')
  .argument('<endpoint-name>')
  .argument('<prompt>')
  .option('--max-new-tokens <n>', 'tokens to generate', positiveInt, 64)
  .option('--temperature <t>', 'sampling temperature', Number, 0.7)
  .addOption(new Option('--format <format>', "the endpoint container's request format").choices(['tgi', 'lmi']).default('tgi'))
  .option('--stream', 'use InvokeEndpointWithResponseStream')
  .action(async (endpointName: string, prompt: string, opts: { maxNewTokens: number; temperature: number; format: ContainerFormat; stream?: boolean }) => {
    const runtime = new SageMakerRuntimeClient({});
    const input = { endpointName, inputs: prompt, format: opts.format, parameters: { max_new_tokens: opts.maxNewTokens, temperature: opts.temperature, top_p: 0.9 } };
    if (opts.stream) {
      const result = await streamGenerate(runtime, input, (t) => process.stdout.write(t));
      print(`\n[${result.tokens} tokens, first after ${result.timeToFirstTokenMs} ms, all in ${result.latencyMs} ms, variant ${result.invokedVariant}]`);
    } else {
      const result = await createRuntimeActivities({ runtime }).invokeEndpoint(input);
      console.log(result.generatedText);
      print(`[${result.latencyMs} ms, variant ${result.invokedVariant}]`);
    }
  });

program
  .command('ask')
  .description('answer a question from the corpus with ragQuery (task queue rag): the answer, its sources and per-step timings')
  .argument('<question>')
  .option('--endpoint <name>', 'SageMaker endpoint that generates', 'demo')
  .option('--collection <name>', 'vector store collection to search', 'documents')
  .option('--top-k <n>', 'chunks to retrieve', positiveInt, 5)
  .option('--mode <mode>', 'retrieval: dense, sparse or hybrid', 'hybrid')
  .option('--max-new-tokens <n>', 'tokens to generate', positiveInt)
  .option('--json', 'print the RagQueryResult as JSON')
  .action(async (question: string, opts: { endpoint: string; collection: string; topK: number; mode: string; maxNewTokens?: number; json?: boolean }) => {
    const spec = parseInput(ragQueryInputSchema, 'ragQuery', {
      query: question,
      endpointName: opts.endpoint,
      collection: opts.collection,
      topK: opts.topK,
      mode: opts.mode,
      ...(opts.maxNewTokens ? { generation: { max_new_tokens: opts.maxNewTokens } } : {}),
    });
    const client = await connectClient();
    const run = await executeRagQuery(client, spec, { timeoutMs: 5 * 60_000 }).catch((err: unknown) => {
      // "Workflow execution failed" says nothing; the workflow's own failure names the step and reason.
      throw err instanceof WorkflowFailedError && err.cause ? new Error(err.cause.message) : err;
    });
    await client.connection.close();
    const { result, workflowId, elapsedMs } = run;
    if (opts.json) {
      console.log(JSON.stringify(result, null, 2));
      return;
    }
    printRagResult(result, { 'round trip': elapsedMs });
    print(`[workflow ${workflowId}]`);
  });

program
  .command('monitoring')
  .description('print recent prompt-monitoring records (LLMOPS_MONITORING_FILE, default .monitoring/prompts.jsonl), oldest first')
  .option('--limit <n>', 'newest N records', positiveInt, 20)
  .option('--json', 'print the records as JSON')
  .action(async (opts: { limit: number; json?: boolean }) => {
    const records = await readMonitoringRecords({ limit: opts.limit });
    if (opts.json) {
      console.log(JSON.stringify(records, null, 2));
      return;
    }
    if (!records.length) print('No prompt-monitoring records yet.');
    for (const r of records) printMonitoringRecord(r);
  });

program.parseAsync().catch((err: unknown) => {
  print(err instanceof InvalidInputError ? err.message : `Error: ${(err as Error).message}`);
  process.exit(1);
});
