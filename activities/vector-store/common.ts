// What both adapters share: input validation (so both refuse the same things), dense
// normalisation, the BM25 IDF formula Qdrant applies with `modifier: idf`, and Reciprocal
// Rank Fusion.
import {
  DEFAULT_PAYLOAD_INDEXES,
  VectorStoreError,
  type CollectionSpec,
  type Condition,
  type FieldCondition,
  type Filter,
  type PayloadFieldType,
  type PointInput,
  type SearchRequest,
  type SparseVector,
  type VectorStoreLogger,
} from './types.js';

export const DEFAULT_RRF_K = 60;
export const DEFAULT_BATCH_SIZE = 256;
export const MIN_PREFETCH = 50;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const COLLECTION_NAME = /^[A-Za-z0-9_-]{1,128}$/;
const PAYLOAD_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const FIELD_TYPES: readonly PayloadFieldType[] = ['keyword', 'integer', 'float', 'bool'];

export function normalizeId(id: string): string {
  const lower = typeof id === 'string' ? id.toLowerCase() : '';
  if (!UUID.test(lower)) throw new VectorStoreError(`point id must be a UUID, got ${JSON.stringify(id)}`);
  return lower;
}

export function checkCollectionName(name: string): void {
  if (typeof name !== 'string' || !COLLECTION_NAME.test(name)) {
    throw new VectorStoreError(`collection name must match ${COLLECTION_NAME}, got ${JSON.stringify(name)}`);
  }
}

export function resolveSpec(spec: CollectionSpec): Required<CollectionSpec> {
  checkCollectionName(spec.name);
  if (!Number.isInteger(spec.denseDimensions) || spec.denseDimensions < 1 || spec.denseDimensions > 65_536) {
    throw new VectorStoreError(`denseDimensions must be a positive integer, got ${spec.denseDimensions}`);
  }
  if (spec.distance !== 'Cosine') throw new VectorStoreError(`only Cosine distance is supported, got ${spec.distance}`);
  const payloadIndexes = { ...(spec.payloadIndexes ?? DEFAULT_PAYLOAD_INDEXES) };
  for (const [key, type] of Object.entries(payloadIndexes)) {
    if (!PAYLOAD_KEY.test(key)) throw new VectorStoreError(`payload index key must match ${PAYLOAD_KEY}, got ${JSON.stringify(key)}`);
    if (!FIELD_TYPES.includes(type)) throw new VectorStoreError(`payload index ${key}: unknown type ${type}`);
  }
  return { name: spec.name, denseDimensions: spec.denseDimensions, distance: spec.distance, payloadIndexes };
}

function checkFinite(values: ArrayLike<number>, what: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new VectorStoreError(`${what} has a non-finite value at ${i}`);
  }
}

export function checkDense(vector: ArrayLike<number> | undefined, dims: number | undefined, what: string): void {
  if (!vector || typeof vector.length !== 'number') throw new VectorStoreError(`${what}: dense vector missing`);
  if (dims !== undefined && vector.length !== dims) {
    throw new VectorStoreError(`${what}: dense vector has ${vector.length} dimensions, the collection has ${dims}`);
  }
  checkFinite(vector, `${what}: dense vector`);
}

/** Unit-normalises (a zero vector stays zero), as Qdrant does for Cosine collections. */
export function normalizeDense(vector: ArrayLike<number>): Float32Array {
  const out = Float32Array.from(vector as ArrayLike<number>);
  let norm = 0;
  for (let i = 0; i < out.length; i++) norm += out[i] * out[i];
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < out.length; i++) out[i] /= norm;
  return out;
}

/** Validates a sparse vector; returns it without zero weights (they neither score nor count in IDF). */
export function checkSparse(sparse: SparseVector | undefined, what: string): SparseVector {
  if (!sparse || !Array.isArray(sparse.indices) || !Array.isArray(sparse.values)) {
    throw new VectorStoreError(`${what}: sparse vector must be {indices: number[], values: number[]}`);
  }
  if (sparse.indices.length !== sparse.values.length) {
    throw new VectorStoreError(`${what}: sparse indices (${sparse.indices.length}) and values (${sparse.values.length}) differ in length`);
  }
  const seen = new Set<number>();
  const indices: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < sparse.indices.length; i++) {
    const index = sparse.indices[i];
    if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) {
      throw new VectorStoreError(`${what}: sparse index ${index} is not a 32-bit unsigned integer`);
    }
    if (seen.has(index)) throw new VectorStoreError(`${what}: sparse index ${index} appears twice`);
    seen.add(index);
    const value = sparse.values[i];
    if (!Number.isFinite(value)) throw new VectorStoreError(`${what}: sparse value at ${i} is not finite`);
    if (value !== 0) {
      indices.push(index);
      values.push(value);
    }
  }
  return { indices, values };
}

export function checkPoint(point: PointInput, dims: number | undefined): void {
  if (!point || typeof point !== 'object') throw new VectorStoreError('point must be an object');
  const what = `point ${point.id}`;
  normalizeId(point.id);
  checkDense(point.dense, dims, what);
  checkSparse(point.sparse, what);
  if (!point.payload || typeof point.payload !== 'object' || Array.isArray(point.payload)) {
    throw new VectorStoreError(`${what}: payload must be an object`);
  }
}

/** Last point with an id wins, in the order of its last occurrence: Qdrant's behaviour within a batch. */
export function dedupeById(points: PointInput[]): PointInput[] {
  const byId = new Map<string, PointInput>();
  for (const point of points) {
    const id = normalizeId(point.id);
    byId.delete(id);
    byId.set(id, point);
  }
  return [...byId.values()];
}

export function chunks<T>(items: T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new VectorStoreError(`batchSize must be a positive integer, got ${size}`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export interface ResolvedSearch {
  mode: SearchRequest['mode'];
  dense?: Float32Array;
  sparse?: SparseVector;
  limit: number;
  filter?: Filter;
  prefetchLimit: number;
  rrfK: number;
}

export function resolveSearch(request: SearchRequest, dims: number | undefined): ResolvedSearch {
  const { mode } = request;
  if (mode !== 'dense' && mode !== 'sparse' && mode !== 'hybrid') throw new VectorStoreError(`unknown search mode ${mode}`);
  if (!Number.isInteger(request.limit) || request.limit < 1) throw new VectorStoreError(`limit must be a positive integer, got ${request.limit}`);
  const prefetchLimit = request.prefetchLimit ?? Math.max(request.limit, MIN_PREFETCH);
  if (!Number.isInteger(prefetchLimit) || prefetchLimit < 1) throw new VectorStoreError(`prefetchLimit must be a positive integer, got ${prefetchLimit}`);
  const rrfK = request.rrfK ?? DEFAULT_RRF_K;
  if (!Number.isInteger(rrfK) || rrfK < 0) throw new VectorStoreError(`rrfK must be a non-negative integer, got ${rrfK}`);
  const out: ResolvedSearch = { mode, limit: request.limit, prefetchLimit, rrfK };
  if (mode !== 'sparse') {
    checkDense(request.dense, dims, `${mode} search`);
    out.dense = Float32Array.from(request.dense as ArrayLike<number>);
  }
  if (mode !== 'dense') out.sparse = checkSparse(request.sparse, `${mode} search`);
  if (request.filter !== undefined) {
    checkFilter(request.filter);
    if (!isEmptyFilter(request.filter)) out.filter = request.filter;
  }
  return out;
}

export function isFieldCondition(condition: Condition): condition is FieldCondition {
  return typeof (condition as FieldCondition).key === 'string';
}

export function isEmptyFilter(filter: Filter | undefined): boolean {
  return !filter || (filter.must?.length ?? 0) + (filter.should?.length ?? 0) + (filter.mustNot?.length ?? 0) === 0;
}

/** Checks the shape of a filter; both adapters refuse the same malformed filters. */
export function checkFilter(filter: Filter, depth = 0): void {
  if (!filter || typeof filter !== 'object' || Array.isArray(filter)) throw new VectorStoreError('filter must be an object');
  if (depth > 16) throw new VectorStoreError('filter nested too deeply');
  for (const key of Object.keys(filter)) {
    if (key !== 'must' && key !== 'should' && key !== 'mustNot') throw new VectorStoreError(`filter: unknown clause ${key}`);
  }
  for (const clause of [filter.must, filter.should, filter.mustNot]) {
    if (clause === undefined) continue;
    if (!Array.isArray(clause)) throw new VectorStoreError('filter clauses must be arrays');
    for (const condition of clause) checkCondition(condition, depth);
  }
}

function checkCondition(condition: Condition, depth: number): void {
  if (!condition || typeof condition !== 'object') throw new VectorStoreError('filter condition must be an object');
  if (!isFieldCondition(condition)) {
    checkFilter(condition, depth + 1);
    return;
  }
  if (!PAYLOAD_KEY.test(condition.key)) throw new VectorStoreError(`filter key must match ${PAYLOAD_KEY}, got ${JSON.stringify(condition.key)}`);
  if ('match' in condition && condition.match) {
    const match = condition.match as { value?: unknown; any?: unknown };
    if ('value' in match) {
      const v = match.value;
      if (typeof v !== 'string' && typeof v !== 'boolean' && !Number.isSafeInteger(v)) {
        throw new VectorStoreError(`filter ${condition.key}: match value must be a string, an integer or a boolean`);
      }
      return;
    }
    if ('any' in match) {
      const any = match.any;
      if (!Array.isArray(any) || any.length === 0) throw new VectorStoreError(`filter ${condition.key}: match any must be a non-empty array`);
      const strings = any.every((v) => typeof v === 'string');
      const ints = any.every((v) => Number.isSafeInteger(v));
      if (!strings && !ints) throw new VectorStoreError(`filter ${condition.key}: match any takes all strings or all integers`);
      return;
    }
    throw new VectorStoreError(`filter ${condition.key}: match needs value or any`);
  }
  if ('range' in condition && condition.range) {
    const bounds = Object.entries(condition.range);
    if (bounds.length === 0) throw new VectorStoreError(`filter ${condition.key}: empty range`);
    for (const [op, v] of bounds) {
      if (!['gt', 'gte', 'lt', 'lte'].includes(op)) throw new VectorStoreError(`filter ${condition.key}: unknown range bound ${op}`);
      if (v !== undefined && !Number.isFinite(v)) throw new VectorStoreError(`filter ${condition.key}: range bound ${op} must be a finite number`);
    }
    return;
  }
  throw new VectorStoreError(`filter condition on ${condition.key} needs match or range`);
}

/** Qdrant's IDF (`modifier: idf`): ln((N − n + 0.5) / (n + 0.5) + 1). */
export function bm25Idf(totalDocs: number, docsWithTerm: number): number {
  return Math.log((totalDocs - docsWithTerm + 0.5) / (docsWithTerm + 0.5) + 1);
}

export interface RankedId {
  id: string;
}

/**
 * Reciprocal Rank Fusion of ranked lists: score = Σ 1 / (k + rank), rank from 1. Ties are
 * broken by the best single rank, then by id, so the order is deterministic.
 */
export function reciprocalRankFusion<T extends RankedId>(lists: T[][], k: number, limit: number): { item: T; score: number }[] {
  const fused = new Map<string, { item: T; score: number; best: number }>();
  for (const list of lists) {
    list.forEach((item, position) => {
      const contribution = 1 / (k + position + 1);
      const entry = fused.get(item.id);
      if (entry) {
        entry.score += contribution;
        entry.best = Math.min(entry.best, position);
      } else {
        fused.set(item.id, { item, score: contribution, best: position });
      }
    });
  }
  return [...fused.values()]
    .sort((a, b) => b.score - a.score || a.best - b.best || (a.item.id < b.item.id ? -1 : a.item.id > b.item.id ? 1 : 0))
    .slice(0, limit)
    .map(({ item, score }) => ({ item, score }));
}

export const silentLogger: VectorStoreLogger = { info() {}, warn() {} };
