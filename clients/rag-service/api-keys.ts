// The RAG service's API keys and what each may reach. A grant gives a key the endpoints and
// collections it may query (the first of each is its default when a request names none); grants
// are the service's own configuration, never chosen by a caller. Also here: reading grants from
// the environment, and finding a presented key in constant time. Keys are never echoed: every
// problem names the key by its position in the configuration.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { endpointNameSchema } from '../../common/sagemaker-names.js';
import { InvalidInputError, parseInput } from '../../common/input-parsing.js';
import { ragQueryInputSchema } from '../../common/rag-input.js';
import { ragServiceConfig } from '../../common/config.js';

export interface ApiKeyGrant {
  /** The x-api-key value. Never logged. */
  key: string;
  /** Endpoints the key may query; the first is used when a request names none. */
  endpoints: string[];
  /** Collections the key may query; the first is used when a request names none. */
  collections: string[];
}

/** Shorter keys are guessable; AWS API Gateway asks for at least 20 characters, we ask 16. */
export const MIN_API_KEY_CHARS = 16;

const grantSchema = z.strictObject({
  key: z.string().min(MIN_API_KEY_CHARS, `must be at least ${MIN_API_KEY_CHARS} characters`),
  endpoints: z.array(endpointNameSchema).min(1, 'must list at least one endpoint'),
  // The same rule as a ragQuery's collection, without its default.
  collections: z.array(ragQueryInputSchema.shape.collection.unwrap()).min(1, 'must list at least one collection'),
});

/** The grants, checked; an Error naming `source`, the key's position (never the key) and the rule. */
export function checkApiKeyGrants(grants: unknown[], source = 'apiKeys'): ApiKeyGrant[] {
  if (!grants.length) throw new Error(`${source}: at least one API key is required`);
  const problems: string[] = [];
  const checked = grants.map((grant, i) => {
    try {
      return parseInput(grantSchema, 'API key', grant);
    } catch (err) {
      if (!(err instanceof InvalidInputError)) throw err;
      problems.push(...err.problems.map((p) => `${source}: key #${i + 1}: ${p}`));
      return undefined;
    }
  });
  if (problems.length) throw new Error(problems.join('; '));
  return checked as ApiKeyGrant[];
}

/** `{"<key>": {"endpoints": [...], "collections": [...]}, ...}` as grants. */
function parseGrantsJson(text: string, source: string): ApiKeyGrant[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the text, which holds the keys.
    throw new Error(`${source}: is not valid JSON; expected {"<key>": {"endpoints": ["..."], "collections": ["..."]}}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${source}: must be a JSON object mapping each key to {"endpoints": ["..."], "collections": ["..."]}`);
  }
  return checkApiKeyGrants(
    // A value that is not an object reads as one with nothing in it: "endpoints: is required".
    Object.entries(parsed).map(([key, grant]) => ({ ...(typeof grant === 'object' && grant !== null ? grant : {}), key })),
    source,
  );
}

/**
 * The grants the environment configures, from the first of:
 * - LLMOPS_RAG_KEYS: the JSON object of parseGrantsJson;
 * - LLMOPS_RAG_KEYS_FILE: a file holding that JSON (better: not in the process environment);
 * - LLMOPS_API_KEYS: comma-separated keys, each granted only `fallback`'s endpoint and collection.
 * Setting more than one is an error (which one wins would be a guess).
 */
export function readApiKeyGrants(env: NodeJS.ProcessEnv, fallback: { endpointName: string; collection: string }): ApiKeyGrant[] {
  const configured = ragServiceConfig.read(env);
  const set = (['LLMOPS_RAG_KEYS', 'LLMOPS_RAG_KEYS_FILE', 'LLMOPS_API_KEYS'] as const).filter((name) => configured[name]);
  if (set.length > 1) throw new Error(`${set.join(', ')} are set together; configure the API keys with one of them`);
  switch (set[0]) {
    case 'LLMOPS_RAG_KEYS':
      return parseGrantsJson(configured.LLMOPS_RAG_KEYS!, 'LLMOPS_RAG_KEYS');
    case 'LLMOPS_RAG_KEYS_FILE': {
      const file = configured.LLMOPS_RAG_KEYS_FILE!;
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        throw new Error(`LLMOPS_RAG_KEYS_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
      return parseGrantsJson(text, `LLMOPS_RAG_KEYS_FILE ${file}`);
    }
    case 'LLMOPS_API_KEYS': {
      const keys = configured
        .LLMOPS_API_KEYS!.split(',')
        .map((k) => k.trim())
        .filter(Boolean);
      return checkApiKeyGrants(
        keys.map((key) => ({ key, endpoints: [fallback.endpointName], collections: [fallback.collection] })),
        'LLMOPS_API_KEYS',
      );
    }
    default:
      throw new Error(
        'set LLMOPS_RAG_KEYS (JSON: {"<key>": {"endpoints": [...], "collections": [...]}}), LLMOPS_RAG_KEYS_FILE (a file of that JSON) or LLMOPS_API_KEYS (comma-separated keys for the default endpoint and collection); keys are never read from the command line',
      );
  }
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Index of the grant whose key matches, or -1. Compares digests in constant time against every key. */
export function apiKeyMatcher(grants: ApiKeyGrant[]): (presented: string) => number {
  const digests = grants.map((g) => digest(g.key));
  return (presented) => {
    const d = digest(presented);
    let found = -1;
    digests.forEach((k, i) => {
      if (timingSafeEqual(k, d) && found < 0) found = i;
    });
    return found;
  };
}
