// AWS configuration as a user sets it: a profile's region is used (not a forced us-east-1),
// AWS_DEFAULT_REGION is honoured, no region at all is a clear error, and per-service endpoint
// variables reach the right client (S3 path-style). The requests go to real HTTP servers on
// loopback that record what arrives.
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { ListModelsCommand } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAwsClients } from '../../activities/aws-clients.js';

const AWS_VARIABLES = Object.keys(process.env).filter((k) => k.startsWith('AWS_') && k !== 'AWS_CA_BUNDLE');
const saved = { ...process.env };

/** A HOME whose ~/.aws/config holds `config` (nothing when undefined). */
function homeWith(config?: string): string {
  const home = mkdtempSync(join(tmpdir(), 'llmops-aws-home-'));
  if (config !== undefined) {
    mkdirSync(join(home, '.aws'));
    writeFileSync(join(home, '.aws', 'config'), config);
  }
  return home;
}

interface Recorder {
  url: string;
  requests: Array<{ host?: string; path?: string }>;
  server: Server;
}
async function recorder(): Promise<Recorder> {
  const requests: Recorder['requests'] = [];
  const server = createServer((req, res) => {
    requests.push({ host: req.headers.host, path: req.url });
    req.resume();
    req.on('end', () => {
      // A body each SDK parses without complaint: S3's HeadBucket reads none, the JSON protocols read {}.
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://localhost:${(server.address() as AddressInfo).port}`, requests, server };
}
const servers: Server[] = [];

beforeEach(() => {
  for (const name of AWS_VARIABLES) delete process.env[name];
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', HOME: homeWith() });
});
afterEach(async () => {
  for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
  Object.assign(process.env, saved);
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

describe('AWS region', () => {
  it("is the profile's region when AWS_PROFILE names a profile that has one", async () => {
    Object.assign(process.env, { HOME: homeWith('[default]\nregion = us-west-2\n[profile x]\nregion = eu-west-1\n'), AWS_PROFILE: 'x' });
    const clients = createAwsClients();
    for (const client of [clients.sagemaker, clients.runtime, clients.s3, clients.iam, clients.autoscaling, clients.cloudwatch, clients.secretsManager]) {
      expect(await client.config.region()).toBe('eu-west-1');
    }
  });

  it('is AWS_REGION over AWS_DEFAULT_REGION over the profile', async () => {
    Object.assign(process.env, { HOME: homeWith('[profile x]\nregion = eu-west-1\n'), AWS_PROFILE: 'x', AWS_DEFAULT_REGION: 'ap-south-1' });
    expect(await createAwsClients().sagemaker.config.region()).toBe('ap-south-1');
    process.env.AWS_REGION = 'ca-central-1';
    expect(await createAwsClients().sagemaker.config.region()).toBe('ca-central-1');
  });

  it('is an error naming AWS_REGION and AWS_PROFILE when nothing supplies one, not us-east-1', async () => {
    process.env.HOME = homeWith('[profile x]\noutput = json\n');
    process.env.AWS_PROFILE = 'x';
    const { sagemaker } = createAwsClients();
    await expect(sagemaker.config.region()).rejects.toThrow(/No AWS region: set AWS_REGION .* profile "x" .*AWS_PROFILE/);
    await expect(sagemaker.send(new ListModelsCommand({}))).rejects.toThrow(/No AWS region/);
  });
});

describe('AWS endpoints', () => {
  it('AWS_ENDPOINT_URL_S3 alone sends S3 there, path-style, and leaves the other services alone', async () => {
    const s3 = await recorder();
    servers.push(s3.server);
    Object.assign(process.env, { AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_S3: s3.url });
    const clients = createAwsClients();
    await clients.s3.send(new HeadBucketCommand({ Bucket: 'my-bucket' }));
    expect(s3.requests).toEqual([{ host: new URL(s3.url).host, path: '/my-bucket/' }]);
    expect(await clients.s3.config.forcePathStyle).toBe(true);
    // SageMaker has no endpoint variable here: it would go to AWS (not called; its config says so).
    expect(clients.sagemaker.config.isCustomEndpoint).toBe(false);
  });

  it('AWS_ENDPOINT_URL_<SERVICE> wins over AWS_ENDPOINT_URL for that service only', async () => {
    const all = await recorder();
    const runtime = await recorder();
    servers.push(all.server, runtime.server);
    Object.assign(process.env, { AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: all.url, AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: runtime.url });
    const clients = createAwsClients();
    await clients.runtime.send(new InvokeEndpointCommand({ EndpointName: 'ep', Body: '{}', ContentType: 'application/json' }));
    await clients.sagemaker.send(new ListModelsCommand({}));
    expect(runtime.requests.map((r) => r.path)).toEqual(['/endpoints/ep/invocations']);
    expect(all.requests.map((r) => r.path)).toEqual(['/']);
    expect(await clients.s3.config.forcePathStyle).toBe(true); // AWS_ENDPOINT_URL covers S3 too
  });

  it('refuses a malformed endpoint variable before any call, naming it', () => {
    Object.assign(process.env, { AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_S3: 'localhost:4566' });
    expect(() => createAwsClients()).toThrow('AWS_ENDPOINT_URL_S3 must be an http:// or https:// URL, got "localhost:4566"');
  });
});
