// How the RAG service reads its API keys and their grants from the environment
// (clients/rag-service/api-keys.ts): the three sources, and errors that name the source, the
// key's position and the rule, never the key itself.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { apiKeyMatcher, readApiKeyGrants } from '../../clients/rag-service/api-keys.js';

const KEY_A = 'key-a-0123456789abcdef';
const KEY_B = 'key-b-fedcba9876543210';
const fallback = { endpointName: 'demo', collection: 'documents' };
const tmp = mkdtempSync(join(tmpdir(), 'rag-keys-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The error message readApiKeyGrants throws for `env`, checked to hold no key. */
function refusal(env: NodeJS.ProcessEnv): string {
  try {
    readApiKeyGrants(env, fallback);
  } catch (err) {
    const message = (err as Error).message;
    for (const key of [KEY_A, KEY_B, 'short']) expect(message).not.toContain(key);
    return message;
  }
  throw new Error('expected a refusal');
}

describe('readApiKeyGrants', () => {
  it('LLMOPS_RAG_KEYS maps each key to its endpoints and collections', () => {
    const json = JSON.stringify({
      [KEY_A]: { endpoints: ['demo', 'other'], collections: ['documents'] },
      [KEY_B]: { endpoints: ['other'], collections: ['notes'] },
    });
    expect(readApiKeyGrants({ LLMOPS_RAG_KEYS: json }, fallback)).toEqual([
      { key: KEY_A, endpoints: ['demo', 'other'], collections: ['documents'] },
      { key: KEY_B, endpoints: ['other'], collections: ['notes'] },
    ]);
  });

  it('LLMOPS_RAG_KEYS_FILE reads the same JSON from a file', () => {
    const file = join(tmp, 'keys.json');
    writeFileSync(file, JSON.stringify({ [KEY_A]: { endpoints: ['demo'], collections: ['documents'] } }));
    chmodSync(file, 0o600);
    expect(readApiKeyGrants({ LLMOPS_RAG_KEYS_FILE: file }, fallback)).toEqual([{ key: KEY_A, endpoints: ['demo'], collections: ['documents'] }]);
    expect(refusal({ LLMOPS_RAG_KEYS_FILE: join(tmp, 'missing.json') })).toBe(`LLMOPS_RAG_KEYS_FILE: cannot read ${join(tmp, 'missing.json')} (ENOENT)`);
  });

  it('LLMOPS_API_KEYS grants each key only the fallback endpoint and collection', () => {
    expect(readApiKeyGrants({ LLMOPS_API_KEYS: ` ${KEY_A}, ${KEY_B} ` }, fallback)).toEqual([
      { key: KEY_A, endpoints: ['demo'], collections: ['documents'] },
      { key: KEY_B, endpoints: ['demo'], collections: ['documents'] },
    ]);
  });

  it('refuses a bad grant naming the key by position and the rule', () => {
    const json = JSON.stringify({
      [KEY_A]: { endpoints: ['demo'], collections: ['documents'] },
      short: { endpoints: ['bad_name!'], collections: [], extra: 1 },
    });
    const message = refusal({ LLMOPS_RAG_KEYS: json });
    expect(message).toContain('LLMOPS_RAG_KEYS: key #2: key: must be at least 16 characters');
    expect(message).toContain('LLMOPS_RAG_KEYS: key #2: endpoints.0: must match');
    expect(message).toContain('LLMOPS_RAG_KEYS: key #2: collections: must list at least one collection');
    expect(message).toMatch(/LLMOPS_RAG_KEYS: key #2: .*extra/);
    expect(refusal({ LLMOPS_RAG_KEYS: JSON.stringify({ [KEY_A]: 'demo' }) })).toBe(
      'LLMOPS_RAG_KEYS: key #1: endpoints: is required; LLMOPS_RAG_KEYS: key #1: collections: is required',
    );
    expect(refusal({ LLMOPS_API_KEYS: `${KEY_A},short` })).toBe('LLMOPS_API_KEYS: key #2: key: must be at least 16 characters');
  });

  it('refuses JSON that does not parse without quoting it (it holds the keys)', () => {
    expect(refusal({ LLMOPS_RAG_KEYS: `{"${KEY_A}": {"endpoints": [` })).toMatch(/^LLMOPS_RAG_KEYS: is not valid JSON; expected/);
    expect(refusal({ LLMOPS_RAG_KEYS: JSON.stringify([KEY_A]) })).toMatch(/^LLMOPS_RAG_KEYS: must be a JSON object/);
    expect(refusal({ LLMOPS_RAG_KEYS: '{}' })).toBe('LLMOPS_RAG_KEYS: at least one API key is required');
  });

  it('refuses no source, and more than one', () => {
    expect(refusal({})).toMatch(/^set LLMOPS_RAG_KEYS .*never read from the command line$/);
    expect(refusal({ LLMOPS_RAG_KEYS: '{}', LLMOPS_API_KEYS: KEY_A })).toBe(
      'LLMOPS_RAG_KEYS, LLMOPS_API_KEYS are set together; configure the API keys with one of them',
    );
  });
});

describe('apiKeyMatcher', () => {
  it('finds the grant of a presented key, -1 for any other string', () => {
    const match = apiKeyMatcher([
      { key: KEY_A, endpoints: ['demo'], collections: ['documents'] },
      { key: KEY_B, endpoints: ['demo'], collections: ['documents'] },
    ]);
    expect([match(KEY_A), match(KEY_B), match(KEY_A.slice(0, -1)), match(`${KEY_A}x`), match('')]).toEqual([0, 1, -1, -1, -1]);
  });
});
