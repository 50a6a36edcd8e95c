// The vector store port the RAG flows use: one collection per corpus, each point carrying a
// named dense vector `dense` (cosine), a named sparse vector `sparse` (BM25-style term
// weights; the store applies IDF from its own corpus statistics at query time) and a JSON
// payload. Two adapters implement it: Qdrant (production) and LanceDB (embedded default).
// Both must give the same results for the same data; test/vector-store/contract.ts says what
// "the same" means.

/** The dense distance. Cosine only: vectors are normalised on the way in, as Qdrant does. */
export type Distance = 'Cosine';

/** How a payload field is indexed for filtering. */
export type PayloadFieldType = 'keyword' | 'integer' | 'float' | 'bool';

/**
 * The payload fields the RAG flows filter on (metadata filters at query time; documentId and
 * contentHash, the hash of a document's text and chunking, when re-ingesting replaces an
 * edited or re-chunked document's chunks).
 */
export const DEFAULT_PAYLOAD_INDEXES: Readonly<Record<string, PayloadFieldType>> = Object.freeze({
  source: 'keyword',
  documentId: 'keyword',
  author: 'keyword',
  tags: 'keyword',
  contentHash: 'keyword',
  chunkIndex: 'integer',
});

export const DENSE_VECTOR = 'dense';
export const SPARSE_VECTOR = 'sparse';

export interface CollectionSpec {
  name: string;
  denseDimensions: number;
  distance: Distance;
  /** Payload indexes to create; defaults to DEFAULT_PAYLOAD_INDEXES. Keys are top-level payload keys. */
  payloadIndexes?: Record<string, PayloadFieldType>;
}

/** A sparse vector: parallel arrays, indices unique and non-negative 32-bit integers. */
export interface SparseVector {
  indices: number[];
  values: number[];
}

export interface PointInput {
  /** A UUID (any case; stores return it lower-case, hyphenated). */
  id: string;
  dense: number[] | Float32Array;
  sparse: SparseVector;
  payload: Record<string, unknown>;
}

export type MatchValue = string | number | boolean;

/** Field equals the value; for an array field, some element equals it. */
export interface MatchValueCondition {
  key: string;
  match: { value: MatchValue };
}

/** Field is one of the values; for an array field, some element is. */
export interface MatchAnyCondition {
  key: string;
  match: { any: (string | number)[] };
}

/** Numeric range on an integer or float field; a missing field never matches. */
export interface RangeCondition {
  key: string;
  range: { gt?: number; gte?: number; lt?: number; lte?: number };
}

export type FieldCondition = MatchValueCondition | MatchAnyCondition | RangeCondition;

/** A condition is a field condition or a nested filter. */
export type Condition = FieldCondition | Filter;

/**
 * Qdrant's filter semantics: every `must` matches, at least one `should` matches (when there
 * are any), no `mustNot` matches. A point without the field fails a field condition, so it
 * passes `mustNot` on it.
 */
export interface Filter {
  must?: Condition[];
  should?: Condition[];
  mustNot?: Condition[];
}

export type SearchMode = 'dense' | 'sparse' | 'hybrid';

export interface SearchRequest {
  mode: SearchMode;
  /** Required for 'dense' and 'hybrid'. */
  dense?: number[] | Float32Array;
  /** Required for 'sparse' and 'hybrid'. Query-side term weights (typically 1 per term). */
  sparse?: SparseVector;
  limit: number;
  filter?: Filter;
  /** Candidates each leg contributes to hybrid fusion; defaults to max(limit, 50). */
  prefetchLimit?: number;
  /**
   * RRF constant in the paper's form, score = Σ 1 / (rrfK + rank), rank from 1. Default 60.
   * (Qdrant's own parameter counts ranks from 0, so the Qdrant adapter sends k = rrfK + 1.)
   */
  rrfK?: number;
}

export interface ScoredPoint {
  id: string;
  /** dense: cosine similarity; sparse: Σ q·idf·d; hybrid: the RRF score. Higher is better. */
  score: number;
  payload: Record<string, unknown>;
}

export interface RetrievedPoint {
  id: string;
  payload: Record<string, unknown>;
  /** Present with `withVectors`: the stored (unit-normalised) dense vector. */
  dense?: number[];
  sparse?: SparseVector;
}

export interface UpsertOptions {
  /** Points per request/commit; default 256. */
  batchSize?: number;
}

export interface HealthStatus {
  ok: boolean;
  backend: VectorStoreBackend;
  detail: string;
}

export type VectorStoreBackend = 'qdrant' | 'lancedb';

export interface VectorStore {
  readonly backend: VectorStoreBackend;
  /** Creates the collection and its payload indexes, or checks an existing one matches. */
  ensureCollection(spec: CollectionSpec): Promise<void>;
  /** Inserts or replaces points by id, in batches. Within one call the last point with an id wins. */
  upsert(collection: string, points: PointInput[], options?: UpsertOptions): Promise<{ upserted: number }>;
  /** Deletes every point the filter matches. An empty filter is refused (it would match all). */
  deleteByFilter(collection: string, filter: Filter): Promise<void>;
  count(collection: string, filter?: Filter): Promise<number>;
  /** The points that exist, in the order asked for. */
  retrieve(collection: string, ids: string[], options?: { withVectors?: boolean }): Promise<RetrievedPoint[]>;
  search(collection: string, request: SearchRequest): Promise<ScoredPoint[]>;
  dropCollection(name: string): Promise<void>;
  collectionExists(name: string): Promise<boolean>;
  health(): Promise<HealthStatus>;
  close(): Promise<void>;
}

export class VectorStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VectorStoreError';
  }
}

/** The collection asked for does not exist (a VectorStoreError, tested with instanceof). */
export class CollectionNotFoundError extends VectorStoreError {
  constructor(collection: string, options?: { cause?: unknown }) {
    super(`collection ${collection} does not exist`, options);
  }
}

/** What the adapters log through; pino's Logger fits. */
export interface VectorStoreLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}
