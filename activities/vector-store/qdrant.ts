// Qdrant adapter (production): a collection with a named dense vector `dense` (cosine) and a
// named sparse vector `sparse` with `modifier: idf`, so the server multiplies each query
// term by ln((N − n + 0.5) / (n + 0.5) + 1) from its own statistics and documents only carry
// their TF-saturated weights. Hybrid search is one Query API call: a dense and a sparse
// prefetch fused with parameterised RRF. Needs Qdrant ≥ 1.16 for `rrf: {k}`; an older server
// falls back to `fusion: 'rrf'` (its fixed k, so different scores) with a warning.
import { QdrantClient } from '@qdrant/js-client-rest';
import {
  DEFAULT_BATCH_SIZE,
  checkFilter,
  chunks,
  dedupeById,
  isEmptyFilter,
  isFieldCondition,
  normalizeId,
  resolveSearch,
  resolveSpec,
  checkCollectionName,
  checkPoint,
  checkSparse,
  silentLogger,
  type ResolvedSearch,
} from './common.js';
import {
  DENSE_VECTOR,
  SPARSE_VECTOR,
  VectorStoreError,
  type CollectionSpec,
  type Condition,
  type Filter,
  type HealthStatus,
  type PayloadFieldType,
  type PointInput,
  type RetrievedPoint,
  type ScoredPoint,
  type SearchRequest,
  type SparseVector,
  type UpsertOptions,
  type VectorStore,
  type VectorStoreLogger,
} from './types.js';

export interface QdrantStoreOptions {
  url: string;
  apiKey?: string;
  /** Per-request timeout, ms. Default 30 s. */
  timeoutMs?: number;
  logger?: VectorStoreLogger;
}

// ---- Translation (pure; unit-tested without a server) ----

type QdrantCondition = Record<string, unknown>;
export interface QdrantFilter {
  must?: QdrantCondition[];
  should?: QdrantCondition[];
  must_not?: QdrantCondition[];
}

/** Our filter language to Qdrant's (which it mirrors; only the names differ). */
export function toQdrantFilter(filter: Filter): QdrantFilter {
  const out: QdrantFilter = {};
  if (filter.must?.length) out.must = filter.must.map(toQdrantCondition);
  if (filter.should?.length) out.should = filter.should.map(toQdrantCondition);
  if (filter.mustNot?.length) out.must_not = filter.mustNot.map(toQdrantCondition);
  return out;
}

function toQdrantCondition(condition: Condition): QdrantCondition {
  if (!isFieldCondition(condition)) return toQdrantFilter(condition) as QdrantCondition;
  if ('match' in condition) {
    const match = condition.match as { value?: unknown; any?: unknown[] };
    return 'any' in match ? { key: condition.key, match: { any: match.any } } : { key: condition.key, match: { value: match.value } };
  }
  const range: Record<string, number> = {};
  for (const [op, v] of Object.entries(condition.range)) if (v !== undefined) range[op] = v;
  return { key: condition.key, range };
}

const FIELD_SCHEMA: Record<PayloadFieldType, string> = { keyword: 'keyword', integer: 'integer', float: 'float', bool: 'bool' };

export function collectionConfig(spec: Required<CollectionSpec>) {
  return {
    vectors: { [DENSE_VECTOR]: { size: spec.denseDimensions, distance: 'Cosine' as const } },
    sparse_vectors: { [SPARSE_VECTOR]: { modifier: 'idf' as const } },
  };
}

export type RrfStyle = 'parameterised' | 'default';

/** The Query API request for a resolved search. */
export function buildQueryRequest(search: ResolvedSearch, rrf: RrfStyle = 'parameterised'): Record<string, unknown> {
  const filter = search.filter ? toQdrantFilter(search.filter) : undefined;
  const base = { limit: search.limit, with_payload: true, with_vector: false, ...(filter ? { filter } : {}) };
  const dense = () => Array.from(search.dense!);
  const sparse = () => ({ indices: search.sparse!.indices, values: search.sparse!.values });
  switch (search.mode) {
    case 'dense':
      return { ...base, query: dense(), using: DENSE_VECTOR };
    case 'sparse':
      return { ...base, query: sparse(), using: SPARSE_VECTOR };
    case 'hybrid':
      return {
        ...base,
        prefetch: [
          { query: dense(), using: DENSE_VECTOR, limit: search.prefetchLimit, ...(filter ? { filter } : {}) },
          { query: sparse(), using: SPARSE_VECTOR, limit: search.prefetchLimit, ...(filter ? { filter } : {}) },
        ],
        // Qdrant's RRF is 1 / (k + position) with positions from 0; ours counts ranks from 1.
        query: rrf === 'parameterised' ? { rrf: { k: search.rrfK + 1 } } : { fusion: 'rrf' },
      };
  }
}

export function toQdrantPoint(point: PointInput) {
  const sparse = checkSparse(point.sparse, `point ${point.id}`);
  return {
    id: normalizeId(point.id),
    vector: { [DENSE_VECTOR]: Array.from(point.dense), [SPARSE_VECTOR]: sparse },
    payload: point.payload,
  };
}

// ---- Adapter ----

interface ErrorWithResponse {
  status?: number;
  data?: { status?: { error?: string } | string };
  message?: string;
}

function describe(error: unknown): { status?: number; message: string } {
  const e = error as ErrorWithResponse;
  const status = typeof e?.status === 'number' ? e.status : undefined;
  const body = e?.data?.status;
  const message = typeof body === 'object' && body?.error ? body.error : typeof body === 'string' ? body : String(e?.message ?? error);
  return { status, message };
}

export class QdrantVectorStore implements VectorStore {
  readonly backend = 'qdrant' as const;
  readonly url: string;
  private readonly client: QdrantClient;
  private readonly logger: VectorStoreLogger;
  private readonly dims = new Map<string, number>();
  private rrfStyle: RrfStyle = 'parameterised';

  constructor(options: QdrantStoreOptions) {
    this.url = options.url;
    this.logger = options.logger ?? silentLogger;
    this.client = new QdrantClient({
      url: options.url,
      apiKey: options.apiKey,
      // Uncompressed answers: fetch asks for gzip by default, and Qdrant then streams a search
      // result with payloads as small gzip chunks, the last of which waits out the client's
      // delayed ACK: 44 ms per search instead of 3 (10 hits of 1 kB, loopback).
      headers: { 'accept-encoding': 'identity' },
      timeout: options.timeoutMs ?? 30_000,
      checkCompatibility: false,
    });
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof VectorStoreError) throw error;
      const { status, message } = describe(error);
      throw new VectorStoreError(`qdrant ${what} failed${status ? ` (HTTP ${status})` : ''}: ${message}`, { cause: error });
    }
  }

  async ensureCollection(input: CollectionSpec): Promise<void> {
    const spec = resolveSpec(input);
    const exists = await this.collectionExists(spec.name);
    if (!exists) {
      try {
        await this.client.createCollection(spec.name, collectionConfig(spec));
        this.logger.info({ collection: spec.name, dims: spec.denseDimensions }, 'qdrant: created collection');
      } catch (error) {
        // Another process may have created it between the check and the create.
        if (!(await this.collectionExists(spec.name))) {
          const { status, message } = describe(error);
          throw new VectorStoreError(`qdrant create collection ${spec.name} failed${status ? ` (HTTP ${status})` : ''}: ${message}`, { cause: error });
        }
      }
    }
    const info = await this.call('get collection', () => this.client.getCollection(spec.name));
    const vectors = info.config.params.vectors as Record<string, { size?: number; distance?: string }> | undefined;
    const dense = vectors?.[DENSE_VECTOR];
    if (!dense || dense.size !== spec.denseDimensions || dense.distance !== 'Cosine') {
      throw new VectorStoreError(
        `qdrant collection ${spec.name} exists with dense vector ${JSON.stringify(dense ?? null)}, wanted ${spec.denseDimensions}-d Cosine`,
      );
    }
    const sparse = (info.config.params.sparse_vectors as Record<string, { modifier?: string | null }> | null | undefined)?.[SPARSE_VECTOR];
    if (!sparse || sparse.modifier !== 'idf') {
      throw new VectorStoreError(`qdrant collection ${spec.name} exists without the sparse vector "${SPARSE_VECTOR}" with modifier idf`);
    }
    const existing = (info.payload_schema ?? {}) as Record<string, { data_type?: string }>;
    for (const [field, type] of Object.entries(spec.payloadIndexes)) {
      const have = existing[field]?.data_type;
      if (have === FIELD_SCHEMA[type]) continue;
      if (have) throw new VectorStoreError(`qdrant collection ${spec.name}: payload index ${field} is ${have}, wanted ${type}`);
      await this.call(`create payload index ${field}`, () =>
        this.client.createPayloadIndex(spec.name, { field_name: field, field_schema: FIELD_SCHEMA[type] as 'keyword', wait: true }),
      );
    }
    this.dims.set(spec.name, spec.denseDimensions);
  }

  private async dimsOf(collection: string): Promise<number> {
    checkCollectionName(collection);
    const known = this.dims.get(collection);
    if (known !== undefined) return known;
    const info = await this.call(`get collection ${collection}`, () => this.client.getCollection(collection));
    const size = (info.config.params.vectors as Record<string, { size?: number }> | undefined)?.[DENSE_VECTOR]?.size;
    if (!size) throw new VectorStoreError(`qdrant collection ${collection} has no dense vector "${DENSE_VECTOR}"`);
    this.dims.set(collection, size);
    return size;
  }

  async upsert(collection: string, points: PointInput[], options: UpsertOptions = {}): Promise<{ upserted: number }> {
    const dims = await this.dimsOf(collection);
    for (const point of points) checkPoint(point, dims);
    const unique = dedupeById(points);
    for (const batch of chunks(unique, options.batchSize ?? DEFAULT_BATCH_SIZE)) {
      await this.call(`upsert into ${collection}`, () => this.client.upsert(collection, { wait: true, points: batch.map(toQdrantPoint) }));
    }
    return { upserted: unique.length };
  }

  async deleteByFilter(collection: string, filter: Filter): Promise<void> {
    checkCollectionName(collection);
    checkFilter(filter);
    if (isEmptyFilter(filter)) throw new VectorStoreError('deleteByFilter needs a non-empty filter');
    await this.call(`delete from ${collection}`, () => this.client.delete(collection, { wait: true, filter: toQdrantFilter(filter) as never }));
  }

  async count(collection: string, filter?: Filter): Promise<number> {
    checkCollectionName(collection);
    if (filter) checkFilter(filter);
    const qfilter = filter && !isEmptyFilter(filter) ? (toQdrantFilter(filter) as never) : undefined;
    const result = await this.call(`count ${collection}`, () => this.client.count(collection, { exact: true, ...(qfilter ? { filter: qfilter } : {}) }));
    return result.count;
  }

  async retrieve(collection: string, ids: string[], options: { withVectors?: boolean } = {}): Promise<RetrievedPoint[]> {
    checkCollectionName(collection);
    const wanted = ids.map(normalizeId);
    if (wanted.length === 0) return [];
    const records = await this.call(`retrieve from ${collection}`, () =>
      this.client.retrieve(collection, {
        ids: [...new Set(wanted)],
        with_payload: true,
        with_vector: options.withVectors ? [DENSE_VECTOR, SPARSE_VECTOR] : false,
      }),
    );
    const byId = new Map<string, RetrievedPoint>();
    for (const record of records) {
      const point: RetrievedPoint = { id: String(record.id), payload: (record.payload ?? {}) as Record<string, unknown> };
      if (options.withVectors) {
        const vector = record.vector as Record<string, unknown> | undefined;
        point.dense = (vector?.[DENSE_VECTOR] as number[] | undefined) ?? [];
        const sparse = vector?.[SPARSE_VECTOR] as SparseVector | undefined;
        point.sparse = sparse ? { indices: [...sparse.indices], values: [...sparse.values] } : { indices: [], values: [] };
      }
      byId.set(point.id, point);
    }
    return wanted.flatMap((id) => (byId.has(id) ? [byId.get(id)!] : []));
  }

  async search(collection: string, request: SearchRequest): Promise<ScoredPoint[]> {
    const dims = await this.dimsOf(collection);
    const search = resolveSearch(request, dims);
    // An empty sparse query matches nothing.
    if (search.mode === 'sparse' && search.sparse!.indices.length === 0) return [];
    const run = (style: RrfStyle) =>
      this.client.query(collection, buildQueryRequest(search, style) as never) as Promise<{
        points: { id: string | number; score: number; payload?: Record<string, unknown> | null }[];
      }>;
    let response;
    try {
      response = await run(this.rrfStyle);
    } catch (error) {
      const { status, message } = describe(error);
      const failure = new VectorStoreError(`qdrant search ${collection} failed${status ? ` (HTTP ${status})` : ''}: ${message}`, { cause: error });
      // A server older than 1.16 rejects `rrf: {k}`; if plain `fusion: rrf` works, keep using it.
      if (search.mode !== 'hybrid' || this.rrfStyle !== 'parameterised' || (status !== 400 && status !== 422)) throw failure;
      try {
        response = await run('default');
      } catch {
        throw failure;
      }
      this.rrfStyle = 'default';
      this.logger.warn(
        { collection, error: message },
        'qdrant: server does not take rrf {k} (needs >= 1.16); using its default RRF, whose scores (and so ties) differ from the embedded store',
      );
    }
    return response.points.map((p) => ({ id: String(p.id), score: p.score, payload: (p.payload ?? {}) as Record<string, unknown> }));
  }

  async dropCollection(name: string): Promise<void> {
    checkCollectionName(name);
    await this.call(`delete collection ${name}`, () => this.client.deleteCollection(name));
    this.dims.delete(name);
  }

  async collectionExists(name: string): Promise<boolean> {
    checkCollectionName(name);
    const result = await this.call(`collection exists ${name}`, () => this.client.collectionExists(name));
    return result.exists;
  }

  async health(): Promise<HealthStatus> {
    try {
      const info = await this.client.versionInfo();
      return { ok: true, backend: 'qdrant', detail: `qdrant ${info.version} at ${this.url}` };
    } catch (error) {
      return { ok: false, backend: 'qdrant', detail: `qdrant at ${this.url} unreachable: ${describe(error).message}` };
    }
  }

  async close(): Promise<void> {
    // The REST client keeps only an HTTP agent with keep-alive connections; nothing to flush.
  }
}
