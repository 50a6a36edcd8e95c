// The contract suite against the embedded LanceDB store (always runs), plus what is specific
// to it: persistence across reopen, refusing filters on fields it has no column for, writes
// from concurrent callers, and the backend selection falling back to it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LanceDbVectorStore } from '../../activities/vector-store/lancedb.js';
import { openVectorStore } from '../../activities/vector-store/select.js';
import type { VectorStoreLogger } from '../../activities/vector-store/types.js';
import { uid, vectorStoreContract } from './contract.js';

const root = mkdtempSync(join(tmpdir(), 'vector-store-lance-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

vectorStoreContract({ name: 'lancedb', open: async () => new LanceDbVectorStore({ dir: join(root, 'contract') }) });

const point = (n: number, payload: Record<string, unknown> = {}) => ({
  id: uid(n),
  dense: [1, n / 100, 0, 0],
  sparse: { indices: [n % 5], values: [1] },
  payload,
});

describe('LanceDB store specifics', () => {
  it('persists across reopen and re-ensuring the collection keeps the data', async () => {
    const dir = join(root, 'persist');
    const first = new LanceDbVectorStore({ dir });
    await first.ensureCollection({ name: 'docs', denseDimensions: 4, distance: 'Cosine' });
    await first.upsert('docs', [point(1, { documentId: 'a' }), point(2, { documentId: 'b' })]);
    await first.close();
    await expect(first.count('docs')).rejects.toThrow(/closed/);

    const second = new LanceDbVectorStore({ dir });
    await second.ensureCollection({ name: 'docs', denseDimensions: 4, distance: 'Cosine' });
    expect(await second.count('docs')).toBe(2);
    expect(await second.count('docs', { must: [{ key: 'documentId', match: { value: 'b' } }] })).toBe(1);
    await second.close();
  });

  it('sees writes made by another store on the same directory (another process)', async () => {
    const dir = join(root, 'shared');
    const writer = new LanceDbVectorStore({ dir });
    const reader = new LanceDbVectorStore({ dir });
    await writer.ensureCollection({ name: 'docs', denseDimensions: 4, distance: 'Cosine' });
    await writer.upsert('docs', [point(1)]);
    expect(await reader.count('docs')).toBe(1);
    await writer.upsert('docs', [point(2), point(3)]);
    expect(await reader.count('docs')).toBe(3);
    const hits = await reader.search('docs', { mode: 'sparse', sparse: { indices: [2], values: [1] }, limit: 5 });
    expect(hits.map((h) => h.id)).toEqual([uid(2)]);
    await writer.close();
    await reader.close();
  });

  it('several stores (processes) ensuring one collection at once all succeed, with every index built', async () => {
    // The race is narrow (two creators committing the table's first overwrite together): 20 rounds
    // of 6 stores met it about once in 15 rounds before ensureCollection took the other's table.
    for (let round = 0; round < 20; round++) {
      const dir = join(root, `race-${round}`);
      const stores = Array.from({ length: 6 }, () => new LanceDbVectorStore({ dir }));
      await Promise.all(stores.map((s) => s.ensureCollection({ name: 'docs', denseDimensions: 4, distance: 'Cosine' })));
      await stores[0].upsert('docs', [point(1, { documentId: 'a' })]);
      expect(await stores[5].count('docs', { must: [{ key: 'documentId', match: { value: 'a' } }] })).toBe(1);
      const probe = await (await import('@lancedb/lancedb')).connect(dir);
      const indexed = (await (await probe.openTable('docs')).listIndices()).flatMap((i) => i.columns).sort();
      expect(indexed).toEqual(['id', 'p_author', 'p_chunkIndex', 'p_contentHash', 'p_documentId', 'p_source', 'p_tags', 'sparse_indices']);
      probe.close();
      for (const s of stores) await s.close();
    }
  });

  it('refuses filters on payload keys that are not indexed, and payload indexes it cannot add later', async () => {
    const store = new LanceDbVectorStore({ dir: join(root, 'unindexed') });
    await store.ensureCollection({ name: 'docs', denseDimensions: 4, distance: 'Cosine' });
    await store.upsert('docs', [point(1, { title: 'x' })]);
    await expect(store.count('docs', { must: [{ key: 'title', match: { value: 'x' } }] })).rejects.toThrow(/not a payload index/);
    await expect(store.ensureCollection({ name: 'docs', denseDimensions: 4, distance: 'Cosine', payloadIndexes: { title: 'keyword' } })).rejects.toThrow(
      /title is missing/,
    );
    await store.close();
  });

  it('supports float and bool payload indexes', async () => {
    const store = new LanceDbVectorStore({ dir: join(root, 'types') });
    await store.ensureCollection({ name: 'docs', denseDimensions: 4, distance: 'Cosine', payloadIndexes: { weight: 'float', draft: 'bool' } });
    await store.upsert('docs', [point(1, { weight: 0.5, draft: true }), point(2, { weight: 1.5, draft: false }), point(3, { weight: 'heavy' })]);
    expect(await store.count('docs', { must: [{ key: 'weight', range: { gt: 0.75 } }] })).toBe(1);
    expect(await store.count('docs', { must: [{ key: 'draft', match: { value: true } }] })).toBe(1);
    expect(await store.count('docs', { mustNot: [{ key: 'draft', match: { value: true } }] })).toBe(2);
    await store.close();
  });

  it('serialises concurrent writers in one process without losing points', async () => {
    const store = new LanceDbVectorStore({ dir: join(root, 'concurrent'), optimizeEveryWrites: 5 });
    await store.ensureCollection({ name: 'docs', denseDimensions: 4, distance: 'Cosine' });
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.upsert('docs', [point(2 * i + 1, { chunkIndex: i }), point(2 * i + 2, { chunkIndex: i })])));
    expect(await store.count('docs')).toBe(40);
    await Promise.all([store.deleteByFilter('docs', { must: [{ key: 'chunkIndex', range: { lt: 5 } }] }), store.upsert('docs', [point(1000)])]);
    expect(await store.count('docs')).toBe(31);
    await store.close();
  });
});

describe('openVectorStore', () => {
  const logged: string[] = [];
  const logger: VectorStoreLogger = { info: (_o, msg) => logged.push(`info ${msg}`), warn: (_o, msg) => logged.push(`warn ${msg}`) };

  it('falls back to the embedded store when no Qdrant is configured or found, and says so', async () => {
    const store = await openVectorStore({ env: {}, probeLocalQdrant: false, lanceDir: join(root, 'selected'), logger });
    expect(store.backend).toBe('lancedb');
    expect(logged.at(-1)).toMatch(/^info vector store: lancedb \(embedded\) at .*selected$/);
    await store.close();
  });

  it('honours VECTOR_STORE=lancedb even when QDRANT_URL is set', async () => {
    const store = await openVectorStore({ env: { VECTOR_STORE: 'lancedb', QDRANT_URL: 'http://127.0.0.1:1' }, lanceDir: join(root, 'forced'), logger });
    expect(store.backend).toBe('lancedb');
    await store.close();
  });

  it('fails loudly when QDRANT_URL is set but nothing answers there', async () => {
    await expect(openVectorStore({ env: { QDRANT_URL: 'http://127.0.0.1:9' }, logger })).rejects.toThrow(/unreachable.*unset QDRANT_URL/s);
  });
});
