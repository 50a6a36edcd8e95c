// Entry point of one model container process (see launch.ts for how it is started). It listens
// at once so the health check gets 503 rather than connection refused while the model loads,
// and exits non-zero with the reason on stderr when it cannot serve (the pool quotes that
// reason in the endpoint's FailureReason).
import pino from 'pino';
import { containerConfigFromEnv } from './config.js';
import { IMAGE_FAMILIES, type ImageFamilyName } from './image-family.js';
import { resolveModelFile } from './gguf-lookup.js';
import { createContainerServer, type FamilyRuntime } from './server.js';
import { TextGenerator } from './text-generator.js';
import { lmiRuntime } from './lmi.js';
import { tgiRuntime } from './tgi.js';
import { vllmRuntime } from './vllm.js';
import { logLevel } from '../../common/config.js';

// One module per image family.
const FAMILY_RUNTIMES: Partial<Record<ImageFamilyName, FamilyRuntime>> = { tgi: tgiRuntime, vllm: vllmRuntime, lmi: lmiRuntime };

const logger = pino({ name: 'model-container', level: logLevel() });

function fail(err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  logger.fatal({ err }, 'container cannot serve');
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  const config = containerConfigFromEnv(process.env);
  const log = logger.child({ instance: config.instanceId });
  const family = FAMILY_RUNTIMES[config.family];
  if (!family) {
    const title = IMAGE_FAMILIES.find((f) => f.name === config.family)?.title ?? config.family;
    throw new Error(`${title} containers are not implemented by the local cloud yet`);
  }
  const server = createContainerServer(config.instanceId, log);
  await server.listen(config.port);
  log.info({ port: config.port, family: config.family }, 'listening');

  const modelPath = resolveModelFile({ modelId: config.modelId, modelFile: config.modelFile, dirs: config.modelsDirs });
  let configured: ReturnType<FamilyRuntime['configure']> | undefined;
  const generator = await TextGenerator.load({
    modelPath,
    threads: config.threads,
    flashAttention: config.flashAttention,
    kvCacheType: config.kvCacheType,
    layout: (trainContextSize) => (configured = family.configure(process.env, trainContextSize)).layout,
    logger: log,
  });
  server.ready(configured!.createHandler(generator, log));
  log.info({ modelId: config.modelId }, 'ready');

  const shutdown = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'stopping');
    void server
      .close()
      .then(() => generator.dispose())
      .finally(() => process.exit(0));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch(fail);
