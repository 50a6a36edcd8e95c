// `npx llmops <command>` (bin/llmops.js): start, follow, list and cancel this project's workflows,
// invoke endpoints, ask the RAG pipeline. Temporal from --profile/--address/--namespace over the
// Temporal config file and TEMPORAL_* variables (common/temporal-connection.ts); AWS (or the local
// cloud) from the standard AWS variables. Exit codes: clients/cli-failures.ts (EXIT), README.
import { paginateListInferenceComponents, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { Client, WorkflowExecutionInfo, WorkflowHandle } from '@temporalio/client';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { awsClientConfig } from '../activities/aws-clients.js';
import { CONTAINER_FORMATS, type ContainerFormat } from '../common/container-format.js';
import { readMonitoringRecords, type MonitoringRecord } from '../activities/monitoring.js';
import { createRuntimeActivities, streamGenerate } from '../activities/runtime.js';
import { batchFanOutInputSchema, batchTransformInputSchema, batchWorkflowType } from '../common/batch-input.js';
import { deployEndpointInputSchema, teardownEndpointInputSchema } from '../common/endpoint-input.js';
import { inferenceComponentNameSchema } from '../common/sagemaker-names.js';
import { parseInput } from '../common/input-parsing.js';
import { extendLeaseInputSchema, leaseWorkflowId } from '../common/lease-input.js';
import { ragQueryInputSchema } from '../common/rag-input.js';
import type { RagQueryResult } from '../common/rag-result.js';
import { ENDPOINT_NAME_ATTRIBUTE } from '../common/resource-names.js';
import { CONTROL_TASK_QUEUE, RAG_TASK_QUEUE } from '../common/task-queues.js';
import { temporalConnectionConfig, type TemporalConnectionConfig } from '../common/temporal-connection.js';
import type { LeaseStatus } from '../workflows/endpoint-lease.js';
import type { Progress } from '../workflows/progress.js';
import { CliInputError, EXIT, formatFailure, reportFailure } from './cli-failures.js';
import { taskQueuePollers, waitForWorker } from './task-queue-workers.js';
import { activeTracing } from '../common/tracing.js';
import { integerOption } from './integer-option.js';
import { connectClient } from './temporal-client.js';
import { executeRagQuery, followRun, runIds, startRun } from './workflow-runs.js';

const positiveInt = integerOption(1, 'must be a positive integer');
const nonNegativeSeconds = integerOption(0, 'must be a whole number of seconds, 0 or more');
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
  console.log(
    `  ${r.sources.length} sources (${r.sources.map((s) => s.source).join(', ')}); tokens ${r.usage.promptTokens} in / ${r.usage.completionTokens ?? '?'} out; ${step} (sum ${total} ms)`,
  );
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new CliInputError(`input-file: cannot read ${path} as JSON: ${(err as Error).message}`);
  }
}

/** A result for a person: one `key: value` line per field, nested objects as compact JSON. */
function printFields(result: unknown): void {
  if (result === null || typeof result !== 'object') return void console.log(String(result));
  for (const [key, value] of Object.entries(result)) {
    if (value !== undefined) console.log(`${key}: ${typeof value === 'object' ? JSON.stringify(value) : String(value)}`);
  }
}

// The SDK warns on every run that node 20 support ends in 2027; the README says it once.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

interface GlobalOptions {
  address?: string;
  namespace?: string;
  profile?: string;
  json?: boolean;
  workerWait: number;
}

const program = new Command('llmops')
  .description('Durable LLM operations on Amazon SageMaker, through Temporal')
  .option('--address <host:port>', 'Temporal frontend (wins over the profile and TEMPORAL_ADDRESS; default 127.0.0.1:7233)')
  .option('--namespace <namespace>', 'Temporal namespace (wins over the profile and TEMPORAL_NAMESPACE; default "default")')
  .option(
    '--profile <name>',
    'profile of the Temporal config file (TEMPORAL_CONFIG_FILE, else ~/.config/temporalio/temporal.toml); default TEMPORAL_PROFILE, else "default"',
  )
  .option('--json', 'print one JSON document on stdout: the result, or {"error": …} on failure (progress stays on stderr)')
  .option(
    '--worker-wait <seconds>',
    'before starting a run, how long to wait for a worker on its task queue (then exit 4, nothing started; 0: do not check)',
    nonNegativeSeconds,
    10,
  )
  // Bad usage exits 2 like bad input, not commander's 1 (1 means a workflow failed).
  .exitOverride()
  .showHelpAfterError('(llmops <command> --help for usage)');

const globals = () => program.opts<GlobalOptions>();

/**
 * Exits once traces are exported (when OTLP is configured) and stdout has taken everything
 * written (a pipe to jq must get the whole document).
 */
const exit = (code: number) => {
  const flushed =
    activeTracing()
      ?.shutdown()
      .catch(() => undefined) ?? Promise.resolve();
  void flushed.then(() => process.stdout.write('', () => process.exit(code)));
};

function output(result: unknown, human: (result: any) => void = printFields): void {
  if (globals().json) console.log(JSON.stringify(result, null, 2));
  else human(result);
}

async function temporal(): Promise<{ client: Client; config: TemporalConnectionConfig }> {
  const { profile, address, namespace } = globals();
  const config = temporalConnectionConfig({ profile, address, namespace });
  return { client: await connectClient(config), config };
}

/**
 * Ctrl-C while following a run detaches: the run goes on in Temporal, and the way back is printed.
 * Exits 130 (the shell's convention for SIGINT) so a script sees the command did not finish.
 */
function detachOnCtrlC(workflowId: string, extraHint = ''): void {
  process.once('SIGINT', () => {
    print(`\nDetached from ${workflowId}; the run goes on. Re-attach: npx llmops watch ${workflowId}${extraHint}`);
    if (globals().json) console.log(JSON.stringify({ detached: true, workflowId }));
    exit(EXIT.detached);
  });
}

/** Checks for a worker, starts (or attaches to) the run, follows it with Ctrl-C detaching, prints its result. */
async function startAndFollow(workflowType: string, workflowId: string, input: unknown, taskQueue: string, extraHint = ''): Promise<void> {
  const { client, config } = await temporal();
  await waitForWorker(client, taskQueue, { waitSeconds: globals().workerWait, address: config.address, print });
  const handle = await startRun(client, workflowType, workflowId, input, taskQueue);
  print(`[${workflowType} ${handle.workflowId}]`);
  detachOnCtrlC(handle.workflowId, extraHint);
  output(await followRun(handle, print));
}

program
  .command('deploy')
  .description('start (or attach to) deployEndpoint for an input file and follow it to the end')
  .argument('<input-file>', 'JSON input, e.g. examples/deploy-local.json')
  .action(async (file: string) => {
    const raw = readJson(file);
    // Same validation the workflow does, so a typo fails here before anything starts.
    const spec = parseInput(deployEndpointInputSchema, 'deployEndpoint', raw);
    await startAndFollow('deployEndpoint', runIds.deploy(spec.endpointName), raw, CONTROL_TASK_QUEUE, ` (progress: npx llmops status ${spec.endpointName})`);
  });

program
  .command('teardown')
  .description('start (or attach to) teardownEndpoint and follow it')
  .argument('<endpoint-name>')
  .action(async (endpointName: string) => {
    const input = { endpointName };
    parseInput(teardownEndpointInputSchema, 'teardownEndpoint', input);
    await startAndFollow('teardownEndpoint', runIds.teardown(endpointName), input, CONTROL_TASK_QUEUE);
  });

program
  .command('batch')
  .description(
    'start (or attach to) a batch for an input file and follow it to the end: batchTransform (mode "job", the default) or batchFanOut over a live endpoint (mode "endpoint")',
  )
  .argument('<input-file>', 'JSON input, e.g. examples/batch-local.json or examples/batch-fan-out-local.json')
  .requiredOption('--workflow-id <id>', 'names the run; the transform job name (or the fan-out staging folder) is derived from it')
  .action(async (file: string, opts: { workflowId: string }) => {
    const raw = readJson(file);
    const workflowType = batchWorkflowType(raw);
    parseInput(workflowType === 'batchFanOut' ? batchFanOutInputSchema : batchTransformInputSchema, workflowType, raw);
    await startAndFollow(workflowType, opts.workflowId, raw, CONTROL_TASK_QUEUE);
  });

program
  .command('watch')
  .description('attach to a run by workflow id: follow its progress and print its result (Ctrl-C detaches again)')
  .argument('<workflow-id>')
  .action(async (workflowId: string) => {
    const { client } = await temporal();
    const handle: WorkflowHandle = client.workflow.getHandle(workflowId);
    const { type, status, taskQueue } = await handle.describe(); // an unknown id fails here (exit 2)
    print(`[${type} ${workflowId}: ${status.name}]`);
    // The run exists already, so no exit 4 here: say why it may not move, and keep following.
    if (status.name === 'RUNNING' && !(await taskQueuePollers(client, taskQueue)).length)
      print(`No worker is polling task queue '${taskQueue}' now; the run waits for one.`);
    detachOnCtrlC(workflowId);
    output(await followRun(handle, print));
  });

program
  .command('status')
  .description("print a run's progress query (default workflow id: deploy-<endpoint-name>)")
  .argument('<endpoint-name>')
  .option('--workflow-id <id>')
  .action(async (endpointName: string, opts: { workflowId?: string }) => {
    const { client } = await temporal();
    const progress = await client.workflow.getHandle(opts.workflowId ?? runIds.deploy(endpointName)).query<Progress>('progress');
    output(progress, (p: Progress) => {
      console.log(`${p.workflowType} ${p.subject}: ${p.status}, step ${p.step}${p.lastStatus ? ` (${p.lastStatus})` : ''}, ${p.elapsedSeconds}s`);
      for (const s of p.steps)
        console.log(`  ${s.name.padEnd(22)} ${(s.outcome ?? 'running').padEnd(8)} ${s.durationMs ?? ''}${s.detail ? `  ${s.detail}` : ''}`);
      if (p.error) console.log(`error: ${p.error}`);
    });
  });

program
  .command('lease')
  .description("show an endpoint's idle-guard lease (workflow lease-<endpoint-name>); --extend-hours moves its deadline, --cancel ends it")
  .argument('<endpoint-name>')
  .addOption(new Option('--extend-hours <n>', 'move the deadline this many hours later').argParser(Number).conflicts('cancel'))
  .option('--cancel', 'end the lease: the endpoint stays, nothing watches it any more')
  .action(async (endpointName: string, opts: { extendHours?: number; cancel?: boolean }) => {
    const extend = opts.extendHours === undefined ? undefined : parseInput(extendLeaseInputSchema, 'extend', { hours: opts.extendHours });
    const { client } = await temporal();
    const handle = client.workflow.getHandle(leaseWorkflowId(endpointName));
    const { status } = await handle.describe(); // no lease: fails here (exit 2)
    if ((extend || opts.cancel) && status.name !== 'RUNNING')
      throw new CliInputError(`endpoint-name: the lease of ${endpointName} is ${status.name}, not running`);
    let lease: LeaseStatus;
    if (extend) lease = await handle.executeUpdate<LeaseStatus, [typeof extend]>('extendLease', { args: [extend] });
    else {
      if (opts.cancel) await handle.signal('end', { reason: 'cancelled with llmops lease --cancel' });
      lease = await handle.query<LeaseStatus>('lease');
    }
    output(lease, (l: LeaseStatus) => {
      console.log(
        `lease ${l.endpointName}: ${opts.cancel ? 'end requested' : l.state}${l.deadline ? `, ${l.action} at ${l.deadline} (${l.cause}; warning from ${l.warnAt})` : ''}`,
      );
      if (l.idle) console.log(`  idle: ${l.idle.action} after ${l.idle.afterMinutes} minutes without invocations`);
      if (l.ttl) console.log(`  ttl: ${l.ttl.action} ${l.ttl.hours} hours after the lease started (${l.startedAt})`);
      console.log(
        `  last invocation seen: ${l.lastInvocationAt ?? 'none'}; last check: ${l.lastCheckedAt ?? 'none yet'}; checks ${l.checks}, run ${l.runs}; extended ${l.extendedHours} h`,
      );
      if (l.lastAction) console.log(`  last action: ${l.lastAction}`);
      if (l.endedReason) console.log(`  ended: ${l.endedReason}`);
    });
  });

const PROJECT_WORKFLOW_TYPES = [
  'deployEndpoint',
  'teardownEndpoint',
  'endpointLease',
  'batchTransform',
  'batchFanOut',
  'asyncInvoke',
  'ingestDocuments',
  'ragQuery',
];
const RUN_STATUSES = ['running', 'completed', 'failed', 'cancelled', 'terminated', 'timedout', 'continuedasnew'];
const VISIBILITY_STATUS: Record<string, string> = {
  running: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Canceled',
  terminated: 'Terminated',
  timedout: 'TimedOut',
  continuedasnew: 'ContinuedAsNew',
};
const quoted = (value: string) => `'${value.replace(/['\\]/g, '\\$&')}'`;

program
  .command('list')
  .description("this project's runs, newest first: type, workflow id, status, endpoint")
  .addOption(new Option('--type <workflow-type>', 'only this workflow type').choices(PROJECT_WORKFLOW_TYPES))
  .addOption(new Option('--status <status>', 'only runs in this state').choices(RUN_STATUSES))
  .option('--endpoint <name>', 'only runs on this endpoint (the EndpointName search attribute)')
  .option('--limit <n>', 'at most N runs', positiveInt, 20)
  .action(async (opts: { type?: string; status?: string; endpoint?: string; limit: number }) => {
    const { client } = await temporal();
    const clauses = [opts.type ? `WorkflowType = ${quoted(opts.type)}` : `WorkflowType IN (${PROJECT_WORKFLOW_TYPES.map(quoted).join(', ')})`];
    if (opts.status) clauses.push(`ExecutionStatus = ${quoted(VISIBILITY_STATUS[opts.status]!)}`);
    if (opts.endpoint) clauses.push(`${ENDPOINT_NAME_ATTRIBUTE.name} = ${quoted(opts.endpoint)}`);
    const runs: Array<{ type: string; workflowId: string; status: string; endpoint?: string; startTime: string; closeTime?: string }> = [];
    const row = (w: WorkflowExecutionInfo) => ({
      type: w.type,
      workflowId: w.workflowId,
      status: w.status.name,
      endpoint: w.typedSearchAttributes.get(ENDPOINT_NAME_ATTRIBUTE),
      startTime: w.startTime.toISOString(),
      closeTime: w.closeTime?.toISOString(),
    });
    for await (const w of client.workflow.list({ query: clauses.join(' AND '), pageSize: opts.limit })) {
      runs.push(row(w));
      if (runs.length >= opts.limit) break;
    }
    output(runs, (rows: typeof runs) => {
      if (!rows.length) return print('No runs.');
      for (const r of rows) console.log(`${r.type.padEnd(17)} ${r.workflowId.padEnd(40)} ${r.status.padEnd(11)} ${r.endpoint ?? '-'}`);
    });
  });

program
  .command('cancel')
  .description('request cancellation of a run; deploys roll back what they created (follow with `llmops watch <id>`)')
  .argument('<workflow-id>')
  .action(async (workflowId: string) => {
    const { client } = await temporal();
    const handle = client.workflow.getHandle(workflowId);
    const { type, status } = await handle.describe(); // an unknown id fails here (exit 2)
    if (status.name !== 'RUNNING') throw new CliInputError(`workflow-id: ${workflowId} (${type}) is ${status.name}, not running; nothing to cancel`);
    await handle.cancel();
    output({ workflowId, type, cancelRequested: true }, () =>
      console.log(`Cancellation requested for ${type} ${workflowId}. Follow it: npx llmops watch ${workflowId}`),
    );
  });

const componentName = (value: string) => {
  const checked = inferenceComponentNameSchema.safeParse(value);
  if (!checked.success) throw new InvalidArgumentError(checked.error.issues[0]?.message ?? 'is not an inference component name');
  return value;
};

// AWS's ValidationError messages when an invocation names no component on an IC endpoint, names
// one on a model-based endpoint, or names one the endpoint does not host.
const COMPONENT_REFUSAL = /Inference Component Name header is (required|not allowed)|Inference Component \S+ .*not found on endpoint/;

/** The components on an endpoint, for a hint; empty when they cannot be listed. */
async function componentsOn(endpointName: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const page of paginateListInferenceComponents({ client: new SageMakerClient({}) }, { EndpointNameEquals: endpointName }))
      names.push(...(page.InferenceComponents ?? []).map((c) => c.InferenceComponentName ?? ''));
  } catch {
    // Only a hint: the refusal below stands on AWS's own message.
  }
  return names.filter(Boolean);
}

/** AWS's refusal of the component (or of its absence) as bad input (exit 2), with what to pass instead. */
async function componentRefusal(err: unknown, endpointName: string, component: string | undefined): Promise<unknown> {
  const message = err instanceof Error ? err.message : '';
  if (!COMPONENT_REFUSAL.test(message)) return err;
  const names = component === undefined || /not found/.test(message) ? await componentsOn(endpointName) : [];
  const hint = names.length
    ? `pass --component with one of: ${names.join(', ')}`
    : component === undefined
      ? 'pass --component <inference-component-name>'
      : 'leave out --component for a model-based endpoint';
  return new CliInputError(`component: ${message} (${hint})`);
}

program
  .command('invoke')
  .description('generate text with an endpoint (or one of its inference components); --stream prints tokens as they arrive')
  .argument('<endpoint-name>')
  .argument('<prompt>')
  .option('--component <name>', 'the inference component to invoke (required on an inference-component endpoint)', componentName)
  .option('--max-new-tokens <n>', 'tokens to generate', positiveInt, 64)
  .option('--temperature <t>', 'sampling temperature', Number, 0.7)
  .addOption(new Option('--format <format>', "the endpoint container's request format").choices([...CONTAINER_FORMATS]).default('tgi'))
  .option('--stream', 'use InvokeEndpointWithResponseStream')
  .action(
    async (
      endpointName: string,
      prompt: string,
      opts: { component?: string; maxNewTokens: number; temperature: number; format: ContainerFormat; stream?: boolean },
    ) => {
      const runtime = new SageMakerRuntimeClient(awsClientConfig());
      const input = {
        endpointName,
        inferenceComponentName: opts.component,
        inputs: prompt,
        format: opts.format,
        parameters: { max_new_tokens: opts.maxNewTokens, temperature: opts.temperature, top_p: 0.9 },
      };
      const json = globals().json;
      const served = (variant?: string) => `variant ${variant}${opts.component ? `, component ${opts.component}` : ''}`;
      try {
        if (opts.stream) {
          let text = '';
          const result = await streamGenerate(runtime, input, (t) => {
            text += t;
            if (!json) process.stdout.write(t);
          });
          if (json) return output({ ...result, generatedText: text });
          print(`\n[${result.tokens} tokens, first after ${result.timeToFirstTokenMs} ms, all in ${result.latencyMs} ms, ${served(result.invokedVariant)}]`);
        } else {
          const result = await createRuntimeActivities({ runtime }).invokeEndpoint(input);
          if (json) return output(result);
          console.log(result.generatedText);
          print(`[${result.latencyMs} ms, ${served(result.invokedVariant)}]`);
        }
      } catch (err) {
        throw await componentRefusal(err, endpointName, opts.component);
      }
    },
  );

program
  .command('ask')
  .description('answer a question from the corpus with ragQuery (task queue rag): the answer, its sources and per-step timings')
  .argument('<question>')
  .option('--endpoint <name>', 'SageMaker endpoint that generates', 'demo')
  .option('--component <name>', 'the inference component that generates (on an inference-component endpoint)')
  .option('--collection <name>', 'vector store collection to search', 'documents')
  .option('--top-k <n>', 'chunks to retrieve', positiveInt, 5)
  .option('--mode <mode>', 'retrieval: dense, sparse or hybrid', 'hybrid')
  .option('--max-new-tokens <n>', 'tokens to generate', positiveInt)
  .action(async (question: string, opts: { endpoint: string; component?: string; collection: string; topK: number; mode: string; maxNewTokens?: number }) => {
    const spec = parseInput(ragQueryInputSchema, 'ragQuery', {
      query: question,
      endpointName: opts.endpoint,
      inferenceComponentName: opts.component,
      collection: opts.collection,
      topK: opts.topK,
      mode: opts.mode,
      ...(opts.maxNewTokens ? { generation: { max_new_tokens: opts.maxNewTokens } } : {}),
    });
    const { client, config } = await temporal();
    await waitForWorker(client, RAG_TASK_QUEUE, { waitSeconds: globals().workerWait, address: config.address, print });
    const workflowId = `rag-${randomUUID()}`;
    detachOnCtrlC(workflowId);
    const run = await executeRagQuery(client, spec, { timeoutMs: 5 * 60_000, workflowId });
    await client.connection.close();
    output(run.result, (result: RagQueryResult) => {
      printRagResult(result, { 'round trip': run.elapsedMs });
      print(`[workflow ${workflowId}]`);
    });
  });

program
  .command('monitoring')
  .description('print recent prompt-monitoring records (LLMOPS_MONITORING_FILE, default .monitoring/prompts.jsonl), oldest first')
  .option('--limit <n>', 'newest N records', positiveInt, 20)
  .action(async (opts: { limit: number }) => {
    const records = await readMonitoringRecords({ limit: opts.limit });
    output(records, (rs: MonitoringRecord[]) => {
      if (!rs.length) print('No prompt-monitoring records yet.');
      for (const r of rs) printMonitoringRecord(r);
    });
  });

program.parseAsync().then(
  () => exit(EXIT.ok),
  (err: unknown) => {
    // Help and --version come through exitOverride as "errors" with exit code 0.
    if (err instanceof CommanderError && err.exitCode === 0) return exit(EXIT.ok);
    const report = reportFailure(err);
    // Commander has already printed its own usage error on stderr.
    if (!(err instanceof CommanderError)) print(formatFailure(report));
    if (globals().json) console.log(JSON.stringify({ error: report }, null, 2));
    exit(report.exitCode);
  },
);
