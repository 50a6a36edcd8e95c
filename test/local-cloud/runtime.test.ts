// SageMaker Runtime through the AWS SDK (and boto3) against the runtime handler, served by a
// minimal HTTP server here, with real model processes from the container pool behind it.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  InvokeEndpointCommand,
  InvokeEndpointWithResponseStreamCommand,
  ModelError,
  ModelStreamError,
  SageMakerRuntimeClient,
  ServiceUnavailable,
  ValidationError,
} from '@aws-sdk/client-sagemaker-runtime';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { CreateEndpointCommand, CreateEndpointConfigCommand, CreateModelCommand, DeleteEndpointCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelsDirs } from '../../common/project-paths.js';
import { venvPython } from '../../dev/tools.js';
import { ContainerPool } from '../../local/instances/pool.js';
import type { ContainerPoolApi } from '../../local/instances/types.js';
import { createRuntimeHandler } from '../../local/runtime/routes.js';
import { startLocalCloud, type LocalCloud } from '../../local/server.js';
import { parseSse, streamedText, type TgiStreamEvent } from './sse.js';
import { SAGEMAKER_TRUST_POLICY, clientConfig, settledEndpoint } from './support.js';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const TGI_IMAGE = '763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:2.4.0-tgi3.0.1-gpu-py311-cu124-ubuntu22.04';
const PROMPT = 'Once upon a time';
const quiet = pino({ level: 'silent' });

const logDir = mkdtempSync(join(tmpdir(), 'runtime-test-'));
const pool = new ContainerPool({ modelsDirs: modelsDirs(), logDir, logger: quiet });
const endpoints = new Map<string, string>([
  ['tiny', 'InService'],
  ['fake', 'InService'],
  ['orphan', 'InService'],
  ['starting', 'Creating'],
]);
let fakeContainerUrl = '';

// The real pool, except that endpoint 'fake' is served by a scripted container below.
const routingPool: ContainerPoolApi = {
  launch: (name, variants) => pool.launch(name, variants),
  activate: (name, fleet) => pool.activate(name, fleet),
  shift: (name, fleet, share) => pool.shift(name, fleet, share),
  deactivate: (name) => pool.deactivate(name),
  stopAll: () => pool.stopAll(),
  pick: (name, target) => (name === 'fake' ? { variantName: 'Scripted', url: fakeContainerUrl } : pool.pick(name, target)),
};

const servers: Server[] = [];
let client: SageMakerRuntimeClient;
let endpointUrl = '';

function listen(server: Server): Promise<string> {
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

/** A container whose behaviour the request picks: echo what arrived, fail, or break mid-stream. */
function scriptedContainer(): Server {
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const { mode } = JSON.parse(Buffer.concat(chunks).toString() || '{}') as { mode?: string };
      if (mode === 'hang') return;
      if (mode === 'fail') {
        res.writeHead(500, { 'Content-Type': 'text/plain' }).end('model exploded');
      } else if (mode === 'break') {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.write('data:{"token":{"id":1,"text":"partial","logprob":0,"special":false}}\n\n', () => setTimeout(() => res.socket?.destroy(), 50));
      } else {
        res.writeHead(200, {
          'Content-Type': 'application/x-echo',
          'X-Amzn-SageMaker-Custom-Attributes': `echo:${req.headers['x-amzn-sagemaker-custom-attributes'] ?? ''}`,
        });
        res.end(JSON.stringify({ contentType: req.headers['content-type'], accept: req.headers.accept }));
      }
    });
  });
}

async function invokeJson(body: unknown, extra: Partial<ConstructorParameters<typeof InvokeEndpointCommand>[0]> = {}) {
  const out = await client.send(
    new InvokeEndpointCommand({ EndpointName: 'tiny', ContentType: 'application/json', Body: Buffer.from(JSON.stringify(body)), ...extra }),
  );
  return { out, json: JSON.parse(Buffer.from(out.Body!).toString('utf8')) };
}

async function streamBytes(endpointName: string, body: unknown): Promise<{ parts: number; text: string; contentType?: string; variant?: string }> {
  const out = await client.send(
    new InvokeEndpointWithResponseStreamCommand({
      EndpointName: endpointName,
      ContentType: 'application/json',
      Body: Buffer.from(JSON.stringify(body)),
    }),
  );
  const bytes: Uint8Array[] = [];
  for await (const event of out.Body!) {
    if (event.PayloadPart?.Bytes) bytes.push(event.PayloadPart.Bytes);
  }
  return { parts: bytes.length, text: Buffer.concat(bytes).toString('utf8'), contentType: out.ContentType, variant: out.InvokedProductionVariant };
}

async function caught(promise: Promise<unknown>): Promise<any> {
  return promise.then(
    () => expect.fail('expected an error'),
    (err: unknown) => err,
  );
}

beforeAll(async () => {
  fakeContainerUrl = await listen(scriptedContainer());
  const handler = createRuntimeHandler({
    pool: routingPool,
    accountId: ACCOUNT,
    logger: quiet,
    getEndpoint: (name) => {
      const status = endpoints.get(name);
      return status ? { EndpointName: name, EndpointStatus: status } : undefined;
    },
  });
  endpointUrl = await listen(createServer((req, res) => void handler(req, res, REGION)));
  client = new SageMakerRuntimeClient(clientConfig(endpointUrl, REGION));
  const environment = { HF_MODEL_ID: 'ggml-org/tiny-llamas', MAX_TOTAL_TOKENS: '512' };
  const fleet = await pool.launch('tiny', [
    { variantName: 'AllTraffic', image: TGI_IMAGE, environment, instanceCount: 1, healthCheckTimeoutSeconds: 60, weight: 1 },
    { variantName: 'Canary', image: TGI_IMAGE, environment, instanceCount: 1, healthCheckTimeoutSeconds: 60, weight: 0 },
  ]);
  await pool.activate('tiny', fleet);
});

afterAll(async () => {
  client?.destroy();
  await pool.stopAll();
  await Promise.all(servers.map((s) => new Promise((r) => (s.closeAllConnections(), s.close(r)))));
  rmSync(logDir, { recursive: true, force: true });
});

describe('InvokeEndpoint', () => {
  it('returns the container body, its content type and the variant that served it', async () => {
    const { out, json } = await invokeJson({ inputs: PROMPT, parameters: { max_new_tokens: 20 } });
    expect(out.ContentType).toBe('application/json');
    expect(out.InvokedProductionVariant).toBe('AllTraffic');
    expect(json).toHaveLength(1);
    expect(json[0].generated_text.length).toBeGreaterThan(0);
  });

  it('honours TargetVariant', async () => {
    const { out } = await invokeJson({ inputs: PROMPT, parameters: { max_new_tokens: 2 } }, { TargetVariant: 'Canary' });
    expect(out.InvokedProductionVariant).toBe('Canary');
    const err = await caught(invokeJson({ inputs: PROMPT }, { TargetVariant: 'Nope' }));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toContain('Nope');
  });

  it('forwards Content-Type, Accept and CustomAttributes to the container and its CustomAttributes back', async () => {
    const out = await client.send(
      new InvokeEndpointCommand({
        EndpointName: 'fake',
        ContentType: 'application/json',
        Accept: 'application/x-wanted',
        CustomAttributes: 'trace=abc',
        Body: Buffer.from('{}'),
      }),
    );
    expect(JSON.parse(Buffer.from(out.Body!).toString())).toEqual({ contentType: 'application/json', accept: 'application/x-wanted' });
    expect(out.ContentType).toBe('application/x-echo');
    expect(out.CustomAttributes).toBe('echo:trace=abc');
    expect(out.InvokedProductionVariant).toBe('Scripted');
  });

  it('turns a container 4xx into ModelError with the original status and message', async () => {
    const err = await caught(invokeJson({ inputs: PROMPT, parameters: { temperature: 0 } }));
    expect(err).toBeInstanceOf(ModelError);
    expect(err.$metadata.httpStatusCode).toBe(424);
    expect(err.OriginalStatusCode).toBe(422);
    expect(JSON.parse(err.OriginalMessage)).toEqual({ error: '`temperature` must be strictly positive', error_type: 'validation' });
    expect(err.LogStreamArn).toBe(`arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/sagemaker/Endpoints/tiny`);
    expect(err.message).toMatch(
      /^Received client error \(422\) from primary with message "\{.*\}"\. See https:\/\/us-east-1\.console\.aws\.amazon\.com\/cloudwatch\/.*tiny in account 123456789012 for more information\.$/,
    );
  });

  it('turns a container 5xx into ModelError naming a server error', async () => {
    const err = await caught(client.send(new InvokeEndpointCommand({ EndpointName: 'fake', Body: Buffer.from('{"mode":"fail"}') })));
    expect(err).toBeInstanceOf(ModelError);
    expect(err.OriginalStatusCode).toBe(500);
    expect(err.message).toMatch(/^Received server error \(500\) from primary with message "model exploded"/);
  });

  it('turns a container that does not answer in time into ModelError with AWS’s timeout message', async () => {
    const impatient = createRuntimeHandler({
      pool: routingPool,
      accountId: ACCOUNT,
      logger: quiet,
      invocationTimeoutMs: 200,
      getEndpoint: (name) => ({ EndpointName: name, EndpointStatus: 'InService' }),
    });
    const url = await listen(createServer((req, res) => void impatient(req, res, REGION)));
    const impatientClient = new SageMakerRuntimeClient(clientConfig(url, REGION));
    const err = await caught(impatientClient.send(new InvokeEndpointCommand({ EndpointName: 'fake', Body: Buffer.from('{"mode":"hang"}') })));
    impatientClient.destroy();
    expect(err).toBeInstanceOf(ModelError);
    expect(err.OriginalStatusCode).toBe(0);
    expect(err.message).toMatch(
      /^Received server error \(0\) from primary with message "Your invocation timed out while waiting for a response from container primary\./,
    );
  });

  it('answers ValidationError for an unknown endpoint, in AWS’s words', async () => {
    const err = await caught(client.send(new InvokeEndpointCommand({ EndpointName: 'no-such-endpoint', Body: Buffer.from('{}') })));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.$metadata.httpStatusCode).toBe(400);
    expect(err.message).toBe(`Endpoint no-such-endpoint of account ${ACCOUNT} not found.`);
  });

  it('answers ValidationError for an endpoint that is not in service', async () => {
    const err = await caught(client.send(new InvokeEndpointCommand({ EndpointName: 'starting', Body: Buffer.from('{}') })));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toContain('Creating');
  });

  it('answers ServiceUnavailable when no process serves an in-service endpoint', async () => {
    const err = await caught(client.send(new InvokeEndpointCommand({ EndpointName: 'orphan', Body: Buffer.from('{}') })));
    expect(err).toBeInstanceOf(ServiceUnavailable);
  });
});

describe('InvokeEndpointWithResponseStream', () => {
  it('streams TGI tokens as PayloadParts that add up to the non-streamed greedy result', async () => {
    const parameters = { max_new_tokens: 30 };
    const { json } = await invokeJson({ inputs: PROMPT, parameters });
    const streamed = await streamBytes('tiny', { inputs: PROMPT, parameters, stream: true });
    expect(streamed.contentType).toBe('text/event-stream');
    expect(streamed.variant).toBe('AllTraffic');
    expect(streamed.parts).toBeGreaterThan(1);
    const events = parseSse(streamed.text) as TgiStreamEvent[];
    expect(events).toHaveLength(30);
    expect(streamedText(events)).toBe(json[0].generated_text);
    expect(events.at(-1)!.generated_text).toBe(json[0].generated_text);
  });

  it('streams a seeded sampled generation identically to the non-streamed one', async () => {
    const parameters = { max_new_tokens: 20, do_sample: true, temperature: 0.9, seed: 7 };
    const { json } = await invokeJson({ inputs: PROMPT, parameters });
    const events = parseSse((await streamBytes('tiny', { inputs: PROMPT, parameters, stream: true })).text) as TgiStreamEvent[];
    expect(streamedText(events)).toBe(json[0].generated_text);
  });

  it('raises ModelError before streaming when the container refuses the request', async () => {
    const err = await caught(streamBytes('fake', { mode: 'fail' }));
    expect(err).toBeInstanceOf(ModelError);
    expect(err.OriginalStatusCode).toBe(500);
  });

  it('raises ModelStreamError (StreamBroken) when the container breaks off mid-stream', async () => {
    const out = await client.send(new InvokeEndpointWithResponseStreamCommand({ EndpointName: 'fake', Body: Buffer.from('{"mode":"break"}') }));
    const received: string[] = [];
    const err = await caught(
      (async () => {
        for await (const event of out.Body!) {
          if (event.PayloadPart?.Bytes) received.push(Buffer.from(event.PayloadPart.Bytes).toString());
        }
      })(),
    );
    expect(received.join('')).toContain('partial');
    expect(err).toBeInstanceOf(ModelStreamError);
    expect(err.ErrorCode).toBe('StreamBroken');
  });

  it('raises ValidationError for an unknown endpoint', async () => {
    const err = await caught(streamBytes('no-such-endpoint', {}));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toBe(`Endpoint no-such-endpoint of account ${ACCOUNT} not found.`);
  });

  it('is read by boto3: invoke_endpoint_with_response_stream yields PayloadPart events', async () => {
    const { json } = await invokeJson({ inputs: PROMPT, parameters: { max_new_tokens: 15 } });
    const script = `
import json, sys, boto3
client = boto3.client('sagemaker-runtime', endpoint_url=sys.argv[1], region_name='${REGION}',
                      aws_access_key_id='test', aws_secret_access_key='test')
body = json.dumps({'inputs': '${PROMPT}', 'parameters': {'max_new_tokens': 15}, 'stream': True})
resp = client.invoke_endpoint_with_response_stream(EndpointName='tiny', ContentType='application/json', Body=body)
kinds, data = set(), b''
for event in resp['Body']:
    kinds.update(event.keys())
    data += event.get('PayloadPart', {}).get('Bytes', b'')
print(json.dumps({'kinds': sorted(kinds), 'text': data.decode('utf-8'), 'contentType': resp['ContentType']}))
`;
    const { stdout } = await promisify(execFile)(venvPython(), ['-c', script, endpointUrl], { timeout: 60_000 });
    const result = JSON.parse(stdout) as { kinds: string[]; text: string; contentType: string };
    expect(result.kinds).toEqual(['PayloadPart']);
    expect(result.contentType).toBe('text/event-stream');
    expect(streamedText(parseSse(result.text) as TgiStreamEvent[])).toBe(json[0].generated_text);
  });
});

describe('through the local cloud (startLocalCloud)', () => {
  let stateDir: string;
  let cloud: LocalCloud;
  let sm: SageMakerClient;
  let runtime: SageMakerRuntimeClient;

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'runtime-cloud-'));
    const logger = pino(pino.destination({ dest: join(stateDir, 'pool.log'), sync: true }));
    cloud = await startLocalCloud({
      port: 0,
      stateDir,
      pool: new ContainerPool({ modelsDirs: modelsDirs(), logDir: join(stateDir, 'logs'), logger }),
    });
    sm = new SageMakerClient(clientConfig(cloud.url));
    runtime = new SageMakerRuntimeClient(clientConfig(cloud.url));
    const iam = new IAMClient(clientConfig(cloud.url));
    const { Role } = await iam.send(new CreateRoleCommand({ RoleName: 'runtime-e2e', AssumeRolePolicyDocument: SAGEMAKER_TRUST_POLICY }));
    iam.destroy();
    await sm.send(
      new CreateModelCommand({
        ModelName: 'tiny-e2e',
        ExecutionRoleArn: Role!.Arn,
        PrimaryContainer: { Image: TGI_IMAGE, Environment: { HF_MODEL_ID: 'ggml-org/tiny-llamas', MAX_TOTAL_TOKENS: '512' } },
      }),
    );
    await sm.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: 'tiny-e2e',
        ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'tiny-e2e', InstanceType: 'ml.g5.xlarge', InitialInstanceCount: 1 }],
      }),
    );
    await sm.send(new CreateEndpointCommand({ EndpointName: 'tiny-e2e', EndpointConfigName: 'tiny-e2e' }));
    expect((await settledEndpoint(sm, 'tiny-e2e'))?.EndpointStatus).toBe('InService');
  });

  afterAll(async () => {
    sm?.destroy();
    runtime?.destroy();
    await cloud?.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('invokes and streams an endpoint created through the control plane, with equal greedy text', async () => {
    const body = (stream: boolean) => Buffer.from(JSON.stringify({ inputs: PROMPT, parameters: { max_new_tokens: 20 }, stream }));
    const out = await runtime.send(new InvokeEndpointCommand({ EndpointName: 'tiny-e2e', ContentType: 'application/json', Body: body(false) }));
    expect(out.InvokedProductionVariant).toBe('AllTraffic');
    const [{ generated_text }] = JSON.parse(Buffer.from(out.Body!).toString()) as [{ generated_text: string }];

    const streamed = await runtime.send(
      new InvokeEndpointWithResponseStreamCommand({ EndpointName: 'tiny-e2e', ContentType: 'application/json', Body: body(true) }),
    );
    const bytes: Uint8Array[] = [];
    for await (const event of streamed.Body!) if (event.PayloadPart?.Bytes) bytes.push(event.PayloadPart.Bytes);
    expect(streamedText(parseSse(Buffer.concat(bytes).toString()) as TgiStreamEvent[])).toBe(generated_text);
  });

  it('answers ValidationError once the endpoint is deleted', async () => {
    await sm.send(new DeleteEndpointCommand({ EndpointName: 'tiny-e2e' }));
    await settledEndpoint(sm, 'tiny-e2e');
    const err = await caught(runtime.send(new InvokeEndpointCommand({ EndpointName: 'tiny-e2e', Body: Buffer.from('{}') })));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toBe(`Endpoint tiny-e2e of account ${ACCOUNT} not found.`);
  });
});
