// The environment a model container process reads. SageMaker hands a container its settings
// through environment variables only (the model's PrimaryContainer.Environment plus the
// platform's own), so the pool and a hand-started process configure it the same way.
import { delimiter } from 'node:path';
import { type ImageFamilyName, isImageFamilyName } from './image-family.js';

/** SageMaker's variable for containers that cannot use the default port 8080. */
export const PORT_ENV = 'SAGEMAKER_BIND_TO_PORT';
/** Path-list of directories holding `<HF_MODEL_ID>/*.gguf` (the pool passes dev/tools.ts modelsDirs()). */
export const MODELS_DIRS_ENV = 'LLMOPS_MODELS_DIRS';
/** llama.cpp threads per process; more than the cores available makes generation far slower. */
export const THREADS_ENV = 'LLMOPS_MODEL_THREADS';
/**
 * llama.cpp's flash attention: "auto" (the default: by the model's attention head size, see
 * text-generator.ts), "1"/"true" or "0"/"false".
 */
export const FLASH_ATTENTION_ENV = 'LLMOPS_FLASH_ATTENTION';
/** Element type of llama.cpp's KV cache: "auto" (the default: see text-generator.ts), "f16" or "f32". */
export const KV_CACHE_TYPE_ENV = 'LLMOPS_KV_CACHE_TYPE';
/** Which image family's request/response formats to speak (set by the pool from the image URI). */
export const FAMILY_ENV = 'LLMOPS_IMAGE_FAMILY';
/** Name of this instance in logs and in the X-Local-Instance response header. */
export const INSTANCE_ENV = 'LLMOPS_INSTANCE_ID';

export interface ContainerConfig {
  port: number;
  family: ImageFamilyName;
  instanceId: string;
  modelId: string | undefined;
  modelFile: string | undefined;
  modelsDirs: string[];
  threads: number;
  flashAttention: FlashAttentionSetting;
  kvCacheType: KvCacheTypeSetting;
}

export class ContainerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContainerConfigError';
  }
}

/** A positive integer from the environment, or `fallback` when unset. */
export function positiveIntEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number;
export function positiveIntEnv(env: NodeJS.ProcessEnv, name: string, fallback?: undefined): number | undefined;
export function positiveIntEnv(env: NodeJS.ProcessEnv, name: string, fallback?: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new ContainerConfigError(`${name}=${raw} must be a positive integer`);
  return value;
}

export type FlashAttentionSetting = boolean | 'auto';

function flashAttentionEnv(env: NodeJS.ProcessEnv): FlashAttentionSetting {
  const raw = env[FLASH_ATTENTION_ENV]?.trim().toLowerCase();
  if (raw === undefined || raw === '' || raw === 'auto') return 'auto';
  if (raw === '1' || raw === 'true') return true;
  if (raw === '0' || raw === 'false') return false;
  throw new ContainerConfigError(`${FLASH_ATTENTION_ENV}=${env[FLASH_ATTENTION_ENV]} must be auto, 1, 0, true or false`);
}

export type KvCacheType = 'f16' | 'f32';
export type KvCacheTypeSetting = KvCacheType | 'auto';

function kvCacheTypeEnv(env: NodeJS.ProcessEnv): KvCacheTypeSetting {
  const raw = env[KV_CACHE_TYPE_ENV]?.trim().toLowerCase();
  if (raw === undefined || raw === '' || raw === 'auto') return 'auto';
  if (raw === 'f16' || raw === 'f32') return raw;
  throw new ContainerConfigError(`${KV_CACHE_TYPE_ENV}=${env[KV_CACHE_TYPE_ENV]} must be auto, f16 or f32`);
}

/** The container environment that pins an attention set-up, as the two readers above parse it. */
export function attentionSetupEnv(setup: { flashAttention: boolean; kvCacheType: KvCacheType }): Record<string, string> {
  return { [FLASH_ATTENTION_ENV]: setup.flashAttention ? '1' : '0', [KV_CACHE_TYPE_ENV]: setup.kvCacheType };
}

export function containerConfigFromEnv(env: NodeJS.ProcessEnv): ContainerConfig {
  const family = env[FAMILY_ENV] ?? 'tgi';
  if (!isImageFamilyName(family)) throw new ContainerConfigError(`${FAMILY_ENV}=${family} is not an image family this container knows`);
  const port = positiveIntEnv(env, PORT_ENV, 8080);
  return {
    port,
    family,
    instanceId: env[INSTANCE_ENV] ?? `local-${port}`,
    modelId: env.HF_MODEL_ID?.trim() || undefined,
    modelFile: env.HF_MODEL_FILE?.trim() || undefined,
    modelsDirs: (env[MODELS_DIRS_ENV] ?? '').split(delimiter).filter(Boolean),
    threads: positiveIntEnv(env, THREADS_ENV, 1),
    flashAttention: flashAttentionEnv(env),
    kvCacheType: kvCacheTypeEnv(env),
  };
}
