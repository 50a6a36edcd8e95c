// The local cloud: one HTTP server on loopback that SDKs, the aws CLI and boto3 use as their
// AWS endpoint URL. It routes by what the request is, not by host name, because every
// service shares the one URL:
//   X-Amz-Target: SageMaker.<Op>  → our SageMaker control plane (local/sagemaker)
//   /endpoints/<name>/...         → our SageMaker Runtime (local/runtime), served by model processes
//   X-Amz-Target: AnyScaleFrontendService.<Op> with ServiceNamespace sagemaker
//                                 → our Application Auto Scaling (local/autoscaling); other namespaces → moto
//   anything else                 → moto (IAM, STS, S3, CloudWatch, other Application Auto Scaling)
// Transform jobs and async inference read and write S3 through this same URL (local/s3.ts).
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { S3Client } from '@aws-sdk/client-s3';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import { modelsDirs } from '../common/project-paths.js';
import { autoScalingOperation, handleAutoScalingRequest } from './autoscaling/routes.js';
import { createLocalAutoScaling } from './autoscaling/wiring.js';
import { FaultInjector, faultSettingsFromEnv, type FaultSettings } from './faults.js';
import { ContainerPool } from './instances/pool.js';
import { SageMakerMetrics } from './metrics/sagemaker-metrics.js';
import { TimeScale } from './metrics/time-scale.js';
import { cloudWatchPublisher, localCloudWatchClient, storeFleetSizes } from './metrics/wiring.js';
import type { ContainerPoolApi } from './instances/types.js';
import { startMoto } from './moto.js';
import { bodyLimit, guardRequest, requestGuardOptionsFromEnv, type RequestGuardOptions, type RequestKind } from './request-guard.js';
import { AsyncInvocations, DEFAULT_CONCURRENCY_PER_INSTANCE } from './runtime/async-invocations.js';
import { createRuntimeHandler } from './runtime/routes.js';
import { credentialScope, isRuntimeRequest } from './request-identity.js';
import { localS3Client } from './s3.js';
import { EndpointLifecycle } from './sagemaker/endpoint-lifecycle.js';
import { InferenceComponentLifecycle } from './sagemaker/inference-component-lifecycle.js';
import { sageMakerOperation } from './sagemaker/protocol.js';
import { iamRoleVerifier } from './sagemaker/roles.js';
import { handleSageMakerOperation } from './sagemaker/routes.js';
import { ACCOUNT_ID, isInferenceComponentEndpoint, SageMakerStore } from './sagemaker/store.js';
import { TransformJobRunner } from './sagemaker/transform-runner.js';
import { makePrivateDir, PRIVATE_FILE_MODE } from './state-cipher.js';
import { logLevel } from '../common/config.js';

export interface LocalCloudOptions {
  /** 0 picks a free port. Default 4566, LocalStack's convention. */
  port?: number;
  /** Default loopback; docker-compose binds 0.0.0.0 inside its container. */
  host?: string;
  /**
   * Where state (sagemaker.json, moto-journal.jsonl) and logs live; reusing it resumes the
   * previous run's resources. Default: a new temporary directory, i.e. a fresh cloud.
   */
  stateDir?: string;
  /** The model processes; default a ContainerPool over dev/tools.ts modelsDirs(). Stopped by close(). */
  pool?: ContainerPoolApi;
  /** Which origins and extra host names are let through (request-guard.ts); default from LOCAL_CLOUD_ALLOWED_ORIGINS/_HOSTS. */
  requestGuard?: RequestGuardOptions;
  /** How much faster than AWS metric periods, alarms and cooldowns run; default LOCAL_CLOUD_TIME_SCALE, else 1. */
  timeScale?: number;
  logger?: Logger;
  /** Fault injection and rate limiting (local/faults.ts); default from LOCAL_CLOUD_* env vars, all off. */
  faults?: FaultSettings;
}

export interface LocalCloud {
  url: string;
  port: number;
  motoUrl: string;
  stateDir: string;
  /** Stops serving, every model process and moto. State stays in stateDir. */
  close(): Promise<void>;
}

export const DEFAULT_REGION = 'us-east-1';

export function regionOf(req: IncomingMessage): string {
  return credentialScope(req).region ?? DEFAULT_REGION;
}

/** Which service a request is for, as far as the request guard's limits go. */
function requestKind(req: IncomingMessage): RequestKind {
  if (sageMakerOperation(req) !== undefined) return 'sagemaker';
  if (isRuntimeRequest(req)) return 'runtime';
  return credentialScope(req).service === 's3' ? 's3' : 'other';
}

/**
 * Quiet by default: structured logs go to a file in the state dir, not to the console. The file
 * stays open after close(): model processes still exiting may log, and a closed pino
 * destination throws on write.
 */
function fileLogger(stateDir: string): Logger {
  return pino(
    { name: 'local-cloud', level: logLevel() },
    pino.destination({ dest: join(stateDir, 'local-cloud.log'), mkdir: true, sync: true, mode: PRIVATE_FILE_MODE }),
  );
}

export async function startLocalCloud(opts: LocalCloudOptions = {}): Promise<LocalCloud> {
  const stateDir = resolve(opts.stateDir ?? mkdtempSync(join(tmpdir(), 'local-cloud-')));
  // State, logs and the key that seals secrets in them are the developer's alone.
  makePrivateDir(stateDir);
  makePrivateDir(join(stateDir, 'logs'));
  const log = opts.logger ?? fileLogger(stateDir);
  // Read state first: a state file we cannot read should fail before anything is spawned.
  const store = SageMakerStore.open(join(stateDir, 'sagemaker.json'));
  const timeScale = opts.timeScale !== undefined ? new TimeScale(opts.timeScale) : TimeScale.fromEnv();

  const moto = await startMoto({ stateDir, log: log.child({ component: 'moto' }), maxBodyBytes: (req) => bodyLimit(requestKind(req)) });
  const faults = new FaultInjector(opts.faults ?? faultSettingsFromEnv());
  const pool = faults.wrapPool(
    opts.pool ?? new ContainerPool({ modelsDirs: modelsDirs(), logDir: join(stateDir, 'logs'), logger: log.child({ component: 'pool' }) }),
  );
  // S3 goes through our own URL (journalled like any client's writes), known once we listen.
  let s3Client: S3Client | undefined;
  const s3 = () => {
    if (!s3Client) throw new Error('S3 is not reachable before the local cloud listens');
    return s3Client;
  };
  const components = new InferenceComponentLifecycle(store, pool, log.child({ component: 'inference-components' }));
  const cloudWatch = localCloudWatchClient(moto.url);
  const endpoints = new EndpointLifecycle(store, pool, log.child({ component: 'endpoints' }), (name) => components.endpointDeleted(name), {
    cloudWatch: () => cloudWatch,
    timeScale,
  });
  const transformJobs = new TransformJobRunner(store, pool, s3, log.child({ component: 'transform-jobs' }), {
    logDir: opts.pool ? undefined : join(stateDir, 'logs'),
  });
  const controlPlane = {
    store,
    endpoints,
    components,
    transformJobs,
    cloudWatch: () => cloudWatch,
    s3,
    verifyRole: iamRoleVerifier(moto.url),
    log: log.child({ component: 'sagemaker' }),
  };
  const asyncInvocations = new AsyncInvocations({
    pool,
    s3,
    logger: log.child({ component: 'async-inference' }),
    concurrencyOf(name) {
      const endpoint = store.endpoints.get(name);
      if (!endpoint) return undefined;
      const perInstance = endpoint.AsyncInferenceConfig?.ClientConfig?.MaxConcurrentInvocationsPerInstance ?? DEFAULT_CONCURRENCY_PER_INSTANCE;
      const instances = Object.values(endpoint.deployed?.instanceCounts ?? {}).reduce((a, b) => a + b, 0);
      return perInstance * Math.max(1, instances);
    },
  });
  const metrics = new SageMakerMetrics({
    publish: cloudWatchPublisher(cloudWatch),
    sizes: storeFleetSizes(store, components.router),
    timeScale,
    logger: log.child({ component: 'metrics' }),
  });
  const autoScaling = createLocalAutoScaling({ stateDir, store, motoCloudWatch: cloudWatch, timeScale, log: log.child({ component: 'autoscaling' }) });
  const runtime = createRuntimeHandler({
    pool,
    getEndpoint: (name) => {
      const endpoint = store.endpoints.get(name);
      return endpoint && { ...endpoint, inferenceComponentBased: isInferenceComponentEndpoint(endpoint) };
    },
    components: components.router,
    accountId: ACCOUNT_ID,
    asyncInvocations,
    fleetFault: (configName) => faults.fleetFault(configName),
    metrics,
    logger: log.child({ component: 'runtime' }),
  });

  const guard = opts.requestGuard ?? requestGuardOptionsFromEnv();
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (guardRequest(req, res, requestKind(req), guard)) return;
    if (await faults.intercept(req, res)) return;
    const operation = sageMakerOperation(req);
    if (operation !== undefined) {
      await handleSageMakerOperation(operation, req, res, { ...controlPlane, region: regionOf(req) });
    } else if (isRuntimeRequest(req)) {
      await runtime(req, res, regionOf(req));
    } else if (autoScalingOperation(req) !== undefined) {
      await handleAutoScalingRequest(autoScalingOperation(req)!, req, res, autoScaling.context(regionOf(req)), moto.forward);
    } else {
      moto.forward(req, res);
    }
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error({ err, method: req.method, url: req.url }, 'request failed');
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ __type: 'InternalFailure', message: (err as Error).message }));
    });
  });

  try {
    await new Promise<void>((listening, failed) => {
      server.once('error', failed);
      server.listen(opts.port ?? 4566, opts.host ?? '127.0.0.1', () => listening());
    });
  } catch (err) {
    // Nothing has started but moto (the metrics and the scaling evaluator start once we listen).
    await autoScaling.close();
    await moto.stop();
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  s3Client = localS3Client(url);
  metrics.start();
  autoScaling.listening(url);
  log.info({ url, motoUrl: moto.url, stateDir }, 'local cloud ready');

  // Endpoints that were live before a restart get their model processes back, in the background.
  endpoints.recover();
  components.recover();
  transformJobs.recover();

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    motoUrl: moto.url,
    stateDir,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((done) => server.close(() => done()));
        server.closeIdleConnections();
        // Jobs and queued async requests first, so they see a shutdown, not processes dying under them.
        await Promise.all([transformJobs.close(), asyncInvocations.close(), autoScaling.evaluator.close()]);
        await components.close();
        await endpoints.close();
        server.closeAllConnections();
        await stopped;
        await metrics.close();
        await autoScaling.close();
        cloudWatch.destroy();
        s3Client?.destroy();
        await moto.stop();
        store.close();
        log.info('local cloud stopped');
      })();
      return closing;
    },
  };
}
