// Resolves a secret reference (model.hfTokenSecret) on the worker: from AWS Secrets Manager, or,
// for development, from an environment variable on the worker's allowlist. Every value read is
// registered for scrubbing before anything else happens to it, and no failure raised here
// quotes a secret value (not even a JSON parse error, which would show part of it).
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ApplicationFailure } from '@temporalio/common';
import { isForbiddenSecretEnvVar, SECRET_ENV_VAR_RULE, type SecretRef } from '../common/endpoint-input.js';
import { callAws } from './aws-errors.js';
import { registerSecret } from './secret-registry.js';
import { workerConfig } from '../common/config.js';

export const DEFAULT_SECRET_ENV_ALLOWLIST = ['HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN'];

/**
 * The worker variables a workflow may name as a secret: the default ones and those the worker's
 * operator added (LLMOPS_SECRET_ENV_ALLOWLIST). A name the static rule forbids stays forbidden even if listed here.
 */
export function secretEnvAllowlist(env: NodeJS.ProcessEnv): Set<string> {
  const extra = workerConfig.read(env).LLMOPS_SECRET_ENV_ALLOWLIST ?? [];
  return new Set([...DEFAULT_SECRET_ENV_ALLOWLIST, ...extra].filter((name) => name && !isForbiddenSecretEnvVar(name)));
}

const notFound = (message: string) => ApplicationFailure.nonRetryable(message, 'SecretNotFound');

export interface SecretResolverDeps {
  /** Absent on workers set up without Secrets Manager: a `secretId` then fails clearly. */
  secretsManager?: SecretsManagerClient;
  env: NodeJS.ProcessEnv;
}

/** `field` names the input the reference came from, e.g. "model.hfTokenSecret". */
export function createSecretResolver({ secretsManager, env }: SecretResolverDeps) {
  function fromEnvironment(envVar: string, field: string): string {
    const allowed = secretEnvAllowlist(env);
    if (!allowed.has(envVar)) {
      throw ApplicationFailure.nonRetryable(
        `${field}.envVar: ${envVar} ${SECRET_ENV_VAR_RULE}; this worker allows ${[...allowed].join(', ')}`,
        'SecretNotAllowed',
      );
    }
    const value = env[envVar];
    if (!value) throw notFound(`${field}.envVar: environment variable ${envVar} is not set on the worker`);
    registerSecret(value);
    return value;
  }

  async function fromSecretsManager(secretId: string, jsonKey: string | undefined, field: string): Promise<string> {
    if (!secretsManager) throw notFound(`${field}.secretId: this worker has no Secrets Manager client`);
    const out = await callAws(`GetSecretValue ${secretId}`, () => secretsManager.send(new GetSecretValueCommand({ SecretId: secretId })));
    const secret = out.SecretString ?? (out.SecretBinary ? Buffer.from(out.SecretBinary).toString('utf8') : undefined);
    if (!secret) throw notFound(`${field}.secretId: secret ${secretId} has no value`);
    registerSecret(secret);
    if (jsonKey === undefined) return secret;
    let parsed: unknown;
    try {
      parsed = JSON.parse(secret);
    } catch {
      throw notFound(`${field}.jsonKey: secret ${secretId} is not a JSON object, so it has no key ${jsonKey}`);
    }
    const value = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>)[jsonKey] : undefined;
    if (typeof value !== 'string' || !value) throw notFound(`${field}.jsonKey: secret ${secretId} has no non-empty string at key ${jsonKey}`);
    registerSecret(value);
    return value;
  }

  return async function resolveSecret(ref: SecretRef, field: string): Promise<string> {
    if (ref.envVar !== undefined) return fromEnvironment(ref.envVar, field);
    if (ref.secretId !== undefined) return fromSecretsManager(ref.secretId, ref.jsonKey, field);
    throw ApplicationFailure.nonRetryable(`${field}: must give exactly one of secretId or envVar`, 'InvalidInput');
  };
}
