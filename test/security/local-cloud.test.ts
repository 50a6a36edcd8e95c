// The local cloud's defences (docs/local-cloud.md "Security"), against a real local cloud, real
// moto and real model processes: no code injection through a model's environment, no
// cross-origin or DNS-rebinding access, AWS's body limits, instance quotas, and no secret in
// clear text in the state dir.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, ListBucketsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DescribeEndpointCommand,
  DescribeModelCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelsDirs } from '../../common/project-paths.js';
import { freePort } from '../../dev/processes.js';
import { ContainerPool } from '../../local/instances/pool.js';
import { startContainerProcess } from '../../local/model-server/launch.js';
import { startLocalCloud, type LocalCloud } from '../../local/server.js';
import { clientConfig, modelProcessPids, recordingPool, type RecordingPool, TGI_IMAGE, TINY_MODEL_ID } from '../local-cloud/support.js';

const SENTINEL = 'sentinel-hf_9f3c2a7e1b';
const ALLOWED_ORIGIN = 'http://localhost:5173';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw request, so Host, Origin and Content-Length are exactly what a browser or attacker sends. */
function raw(url: string, opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string }): Promise<Answer> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: opts.method ?? 'POST', path: opts.path ?? '/', headers: opts.headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const createModelBody = (name: string) =>
  JSON.stringify({ ModelName: name, PrimaryContainer: { Image: TGI_IMAGE, Environment: { HF_MODEL_ID: TINY_MODEL_ID } } });
const sageMakerHeaders = (extra: Record<string, string> = {}) => ({
  'Content-Type': 'application/x-amz-json-1.1',
  'X-Amz-Target': 'SageMaker.CreateModel',
  ...extra,
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describe('local cloud security', () => {
  let stateDir: string;
  let cloud: LocalCloud;
  let pool: RecordingPool;
  let sm: SageMakerClient;
  let s3: S3Client;

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'local-cloud-security-'));
    pool = recordingPool(stateDir);
    cloud = await startLocalCloud({ port: 0, stateDir, pool, requestGuard: { allowedOrigins: [ALLOWED_ORIGIN], allowedHosts: [] } });
    sm = new SageMakerClient(clientConfig(cloud.url));
    s3 = new S3Client({ ...clientConfig(cloud.url), forcePathStyle: true });
  }, 90_000);

  afterAll(async () => {
    await cloud?.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  describe("a model's environment cannot change how the host runs the process", () => {
    // Outside the state dir (made at collection time, which it.each needs), removed with it below.
    const markerDir = mkdtempSync(join(tmpdir(), 'injection-marker-'));
    const marker = () => join(markerDir, 'injected-marker');
    afterAll(() => rmSync(markerDir, { recursive: true, force: true }));
    const injection = () => `--import=data:text/javascript,import('node:fs').then((fs)=>fs.writeFileSync('${marker()}','ran'))`;

    it.each([
      ['NODE_OPTIONS', injection()],
      ['LD_PRELOAD', '/tmp/evil.so'],
      ['PATH', '/tmp/evil-bin'],
      ['PYTHONPATH', '/tmp/evil'],
      ['BASH_ENV', '/tmp/evil.sh'],
      ['node_path', '/tmp/evil'],
    ])('CreateModel refuses %s with a ValidationException naming it', async (name, value) => {
      const attempt = sm.send(
        new CreateModelCommand({
          ModelName: `inject-${name.toLowerCase().replace(/_/g, '-')}`,
          PrimaryContainer: { Image: TGI_IMAGE, Environment: { HF_MODEL_ID: TINY_MODEL_ID, [name]: value } },
        }),
      );
      await expect(attempt).rejects.toMatchObject({
        name: 'ValidationException',
        message: expect.stringContaining(`environment variable ${name} is not allowed`),
      });
      await expect(sm.send(new DescribeModelCommand({ ModelName: `inject-${name.toLowerCase().replace(/_/g, '-')}` }))).rejects.toThrow(/Could not find model/);
    });

    it('a model environment that still holds NODE_OPTIONS (older state) does not run it: the pool drops it', async () => {
      const own = new ContainerPool({ modelsDirs: modelsDirs(), logDir: join(stateDir, 'logs'), logger: pino({ level: 'silent' }) });
      try {
        const fleet = await own.launch('inject-direct', [
          {
            variantName: 'AllTraffic',
            image: TGI_IMAGE,
            environment: { HF_MODEL_ID: TINY_MODEL_ID, NODE_OPTIONS: injection() },
            instanceCount: 1,
            healthCheckTimeoutSeconds: 120,
            weight: 1,
          },
        ]);
        await fleet.stop();
      } finally {
        await own.stopAll();
      }
      expect(existsSync(marker())).toBe(false);
    }, 150_000);

    it("the model process gets the contract's and the model's variables, not the parent's environment", async () => {
      process.env.LOCAL_CLOUD_TEST_PARENT_SENTINEL = SENTINEL;
      const port = await freePort();
      const proc = startContainerProcess({ port, env: { HF_MODEL_ID: 'no/such-model', MAX_INPUT_LENGTH: '64' } });
      try {
        const environ = readFileSync(`/proc/${proc.child.pid}/environ`, 'utf8').split('\0');
        expect(environ).toContain(`SAGEMAKER_BIND_TO_PORT=${port}`);
        expect(environ).toContain('MAX_INPUT_LENGTH=64');
        expect(environ.some((line) => line.includes(SENTINEL))).toBe(false);
        expect(environ.some((line) => line.startsWith('AWS_') || line.startsWith('NODE_OPTIONS='))).toBe(false);
      } finally {
        delete process.env.LOCAL_CLOUD_TEST_PARENT_SENTINEL;
        await proc.stop();
      }
    });
  });

  describe('browsers and foreign host names', () => {
    it('a preflight from a foreign origin gets 403 and no CORS headers', async () => {
      for (const path of ['/', '/some-bucket/key']) {
        const answer = await raw(cloud.url, {
          method: 'OPTIONS',
          path,
          headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'x-amz-target' },
        });
        expect(answer.status).toBe(403);
        expect(Object.keys(answer.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
      }
    });

    it('a CreateModel and an S3 GET from a foreign origin are refused and create or read nothing', async () => {
      await s3.send(new CreateBucketCommand({ Bucket: 'corpus' }));
      await s3.send(new PutObjectCommand({ Bucket: 'corpus', Key: 'doc.txt', Body: 'private corpus' }));
      const create = await raw(cloud.url, { headers: sageMakerHeaders({ Origin: 'https://evil.example' }), body: createModelBody('from-evil') });
      expect(create.status).toBe(403);
      expect(JSON.parse(create.body).message).toContain('LOCAL_CLOUD_ALLOWED_ORIGINS');
      await expect(sm.send(new DescribeModelCommand({ ModelName: 'from-evil' }))).rejects.toThrow(/Could not find model/);
      const read = await raw(cloud.url, { method: 'GET', path: '/corpus/doc.txt', headers: { Origin: 'null' } });
      expect(read.status).toBe(403);
      expect(read.body).not.toContain('private corpus');
      expect(read.headers['access-control-allow-origin']).toBeUndefined();
    });

    it('a DNS-rebinding Host is refused on every service', async () => {
      const create = await raw(cloud.url, { headers: sageMakerHeaders({ Host: 'evil.example:4566' }), body: createModelBody('rebound') });
      expect(create.status).toBe(403);
      expect(JSON.parse(create.body).message).toContain("host 'evil.example:4566'");
      await expect(sm.send(new DescribeModelCommand({ ModelName: 'rebound' }))).rejects.toThrow(/Could not find model/);
      const read = await raw(cloud.url, { method: 'GET', path: '/corpus/doc.txt', headers: { Host: 'evil.example' } });
      expect(read.status).toBe(403);
      expect(read.body).not.toContain('private corpus');
      // Loopback names in any form pass.
      for (const host of ['localhost:1', 'app.localhost', '127.0.0.2', '[::1]:4566']) {
        const list = await raw(cloud.url, { headers: { ...sageMakerHeaders({ Host: host }), 'X-Amz-Target': 'SageMaker.ListModels' }, body: '{}' });
        expect(list.status, host).toBe(200);
      }
    });

    it('an allowed origin gets a proper CORS answer and its requests through', async () => {
      const preflight = await raw(cloud.url, {
        method: 'OPTIONS',
        headers: { Origin: ALLOWED_ORIGIN, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,x-amz-target' },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers['access-control-allow-origin']).toBe(ALLOWED_ORIGIN);
      expect(preflight.headers['access-control-allow-methods']).toContain('POST');
      expect(preflight.headers['access-control-allow-headers']).toBe('content-type,x-amz-target');
      const create = await raw(cloud.url, { headers: sageMakerHeaders({ Origin: ALLOWED_ORIGIN }), body: createModelBody('from-allowed') });
      expect(create.status).toBe(200);
      expect(create.headers['access-control-allow-origin']).toBe(ALLOWED_ORIGIN);
      await s3.send(new PutObjectCommand({ Bucket: 'corpus', Key: 'public.txt', Body: 'public', ACL: 'public-read' }));
      const read = await raw(cloud.url, { method: 'GET', path: '/corpus/public.txt', headers: { Origin: ALLOWED_ORIGIN } });
      expect(read.status).toBe(200);
      expect(read.body).toBe('public');
      expect(read.headers['access-control-allow-origin']).toBe(ALLOWED_ORIGIN);
    });
  });

  describe('body limits', () => {
    it("InvokeEndpoint over 6 MiB is refused with AWS's ValidationError before the body is read", async () => {
      const answer = await raw(cloud.url, {
        path: '/endpoints/any/invocations',
        headers: { 'Content-Type': 'application/json', 'Content-Length': String(6 * 1024 * 1024 + 1) },
      });
      expect(answer.status).toBe(413);
      expect(answer.headers['x-amzn-errortype']).toBe('ValidationError');
      expect(JSON.parse(answer.body).Message).toContain('Member must have length less than or equal to 6291456');
    });

    it('a chunked InvokeEndpoint body is cut off at the limit', async () => {
      const answer = await raw(cloud.url, {
        path: '/endpoints/any/invocations',
        headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' },
        body: 'x'.repeat(6 * 1024 * 1024 + 10),
      });
      expect(answer.status).toBe(413);
      expect(answer.headers['x-amzn-errortype']).toBe('ValidationError');
    });

    it('control-plane requests over 5 MiB are refused, ours and those forwarded to moto', async () => {
      const big = JSON.stringify({ ModelName: 'huge', Padding: 'x'.repeat(5 * 1024 * 1024) });
      const create = await raw(cloud.url, { headers: sageMakerHeaders(), body: big });
      expect(create.status).toBe(413);
      const secret = await raw(cloud.url, {
        headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'secretsmanager.CreateSecret', 'Transfer-Encoding': 'chunked' },
        body: JSON.stringify({ Name: 'huge', SecretString: 'x'.repeat(5 * 1024 * 1024) }),
      });
      expect(secret.status).toBe(413);
    });
  });

  describe('instance quotas', () => {
    it('an InitialInstanceCount over the quota is refused with ResourceLimitExceeded and spawns nothing', async () => {
      await sm.send(new CreateModelCommand({ ModelName: 'quota-model', PrimaryContainer: { Image: TGI_IMAGE, Environment: { HF_MODEL_ID: TINY_MODEL_ID } } }));
      await sm.send(
        new CreateEndpointConfigCommand({
          EndpointConfigName: 'quota-cfg',
          ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'quota-model', InstanceType: 'ml.m5.xlarge', InitialInstanceCount: 5 }],
        }),
      );
      const before = modelProcessPids().length;
      await expect(sm.send(new CreateEndpointCommand({ EndpointName: 'quota-ep', EndpointConfigName: 'quota-cfg' }))).rejects.toMatchObject({
        name: 'ResourceLimitExceeded',
        message:
          "The account-level service limit 'ml.m5.xlarge for endpoint usage' is 4 Instances, with current utilization of 0 Instances and a request delta of 5 Instances. Please use AWS Service Quotas to request an increase for this quota.",
      });
      await expect(sm.send(new DescribeEndpointCommand({ EndpointName: 'quota-ep' }))).rejects.toThrow(/Could not find endpoint/);
      expect(pool.fleets).toEqual([]);
      expect(modelProcessPids().length).toBe(before);
    });
  });

  describe('state at rest', () => {
    it('no file under the state dir holds a secret in clear, files are 0600, and a restart reads them back', async () => {
      await sm.send(
        new CreateModelCommand({
          ModelName: 'with-token',
          PrimaryContainer: { Image: TGI_IMAGE, Environment: { HF_MODEL_ID: TINY_MODEL_ID, HF_TOKEN: SENTINEL } },
        }),
      );
      const secrets = new SecretsManagerClient(clientConfig(cloud.url));
      await secrets.send(new CreateSecretCommand({ Name: 'hf-token', SecretString: SENTINEL }));
      await cloud.close();

      const files = filesUnder(stateDir);
      expect(files.map((f) => f.slice(stateDir.length + 1))).toEqual(expect.arrayContaining(['sagemaker.json', 'moto-journal.jsonl', 'state.key']));
      for (const file of files) {
        expect(readFileSync(file, 'latin1'), file).not.toContain(SENTINEL);
        if (!file.includes('/logs/')) expect((statSync(file).mode & 0o777).toString(8), file).toBe('600');
      }
      expect((statSync(stateDir).mode & 0o777).toString(8)).toBe('700');
      expect((statSync(join(stateDir, 'logs')).mode & 0o777).toString(8)).toBe('700');

      cloud = await startLocalCloud({ port: 0, stateDir, pool: recordingPool(stateDir) });
      const again = new SageMakerClient(clientConfig(cloud.url));
      const model = await again.send(new DescribeModelCommand({ ModelName: 'with-token' }));
      expect(model.PrimaryContainer?.Environment?.HF_TOKEN).toBe(SENTINEL);
      const { Buckets } = await new S3Client({ ...clientConfig(cloud.url), forcePathStyle: true }).send(new ListBucketsCommand({}));
      expect(Buckets?.map((b) => b.Name)).toContain('corpus'); // the sealed journal replayed
    }, 120_000);
  });
});
