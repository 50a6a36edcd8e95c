// LanceDB adapter (embedded default): one Lance table per collection under a directory.
//
// Columns: id (UUID string, BTREE index), dense (FixedSizeList<Float32>, stored unit-normalised
// like Qdrant does for Cosine), sparse_indices / sparse_values (List<UInt32> / List<Float32>,
// LABEL_LIST index on the indices), payload (the JSON text), and one typed column `p_<key>`
// per payload index (keyword → List<Utf8> with a LABEL_LIST index, integer → Int64 and
// float → Float64 with BTREE, bool → Boolean with BITMAP). Filters compile to a Lance SQL
// `where` over the p_ columns, so only declared payload indexes can be filtered on.
//
// Scoring is the Qdrant adapter's, computed here:
// - dense: exact (flat) cosine search, score = 1 − cosine distance = cosine similarity;
// - sparse: Σ over shared indices of q_i · idf_i · d_i with Qdrant's
//   idf = ln((N − n_i + 0.5) / (n_i + 0.5) + 1), N = points in the collection, n_i = points
//   whose sparse vector has index i (counted over the table version the query reads);
// - hybrid: both legs (each `prefetchLimit` deep, each filtered) fused client-side with RRF,
//   Σ 1 / (k + rank).
import * as lancedb from '@lancedb/lancedb';
import { Bool, DataType, Field, FixedSizeList, Float32, Float64, Int64, List, Schema, Uint32, Utf8, type Vector as ArrowVector } from 'apache-arrow';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  bm25Idf,
  checkCollectionName,
  checkFilter,
  checkPoint,
  checkSparse,
  chunks,
  dedupeById,
  isEmptyFilter,
  isFieldCondition,
  normalizeDense,
  normalizeId,
  reciprocalRankFusion,
  resolveSearch,
  resolveSpec,
  silentLogger,
  type ResolvedSearch,
} from './common.js';
import {
  CollectionNotFoundError,
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

export const DEFAULT_LANCE_DIR = '.vector-store';
const LANCE_BATCH_SIZE = 2048;
const PAYLOAD_PREFIX = 'p_';

export interface LanceStoreOptions {
  /** Directory holding the tables; default `.vector-store` (relative to the working directory). */
  dir?: string;
  logger?: VectorStoreLogger;
  /**
   * How stale a read may be with respect to writes by other processes, seconds. 0 (default):
   * every read sees the latest committed version. Writes through this store are always seen.
   */
  readConsistencyIntervalSeconds?: number;
  /** Compact fragments and fold new rows into the indexes after this many writes; default 32. */
  optimizeEveryWrites?: number;
}

interface TermStats {
  version: number;
  total: number;
  df: Map<number, number>;
}

interface CollectionState {
  table: lancedb.Table;
  dims: number;
  fields: Map<string, PayloadFieldType>;
  writes: Promise<unknown>;
  writesSinceOptimize: number;
  stats?: TermStats;
}

interface Candidate {
  id: string;
  score: number;
  payload?: string;
}

// ---- Schema ----

function arrowFieldType(type: PayloadFieldType): DataType {
  switch (type) {
    case 'keyword':
      return new List(new Field('item', new Utf8(), true));
    case 'integer':
      return new Int64();
    case 'float':
      return new Float64();
    case 'bool':
      return new Bool();
  }
}

function fieldTypeOf(type: DataType): PayloadFieldType | undefined {
  if (DataType.isList(type)) return 'keyword';
  if (DataType.isInt(type)) return 'integer';
  if (DataType.isFloat(type)) return 'float';
  if (DataType.isBool(type)) return 'bool';
  return undefined;
}

export function tableSchema(spec: Required<CollectionSpec>): Schema {
  return new Schema([
    new Field('id', new Utf8(), false),
    new Field('dense', new FixedSizeList(spec.denseDimensions, new Field('item', new Float32(), true)), false),
    new Field('sparse_indices', new List(new Field('item', new Uint32(), true)), false),
    new Field('sparse_values', new List(new Field('item', new Float32(), true)), false),
    new Field('payload', new Utf8(), false),
    ...Object.entries(spec.payloadIndexes).map(([key, type]) => new Field(PAYLOAD_PREFIX + key, arrowFieldType(type), type !== 'keyword')),
  ]);
}

function indexFor(type: PayloadFieldType): lancedb.Index {
  if (type === 'keyword') return lancedb.Index.labelList();
  if (type === 'bool') return lancedb.Index.bitmap();
  return lancedb.Index.btree();
}

function describeSchema(schema: Schema): { dims: number; fields: Map<string, PayloadFieldType> } {
  const dense = schema.fields.find((f) => f.name === 'dense');
  if (!dense || !DataType.isFixedSizeList(dense.type)) throw new VectorStoreError('table has no dense FixedSizeList column; not a vector-store collection');
  const fields = new Map<string, PayloadFieldType>();
  for (const field of schema.fields) {
    if (!field.name.startsWith(PAYLOAD_PREFIX)) continue;
    const type = fieldTypeOf(field.type);
    if (type) fields.set(field.name.slice(PAYLOAD_PREFIX.length), type);
  }
  return { dims: (dense.type as FixedSizeList).listSize, fields };
}

// ---- Filters → SQL ----

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;
const column = (key: string) => `\`${PAYLOAD_PREFIX}${key}\``;

function sqlNumber(n: number): string {
  if (!Number.isFinite(n)) throw new VectorStoreError(`not a finite number: ${n}`);
  return Number.isInteger(n) ? n.toFixed(0) : String(n);
}

/** Compiles a filter to a Lance SQL predicate that is never NULL (a missing field fails a condition). */
export function filterToSql(filter: Filter, fields: Map<string, PayloadFieldType>): string {
  const parts: string[] = [];
  if (filter.must?.length) parts.push(...filter.must.map((c) => conditionToSql(c, fields)));
  if (filter.should?.length) parts.push(`(${filter.should.map((c) => conditionToSql(c, fields)).join(' OR ')})`);
  if (filter.mustNot?.length) parts.push(`NOT (${filter.mustNot.map((c) => conditionToSql(c, fields)).join(' OR ')})`);
  return parts.length ? `(${parts.join(' AND ')})` : 'TRUE';
}

function conditionToSql(condition: Condition, fields: Map<string, PayloadFieldType>): string {
  if (!isFieldCondition(condition)) return filterToSql(condition, fields);
  const type = fields.get(condition.key);
  if (!type) {
    throw new VectorStoreError(
      `filter on "${condition.key}": not a payload index of this collection (indexed: ${[...fields.keys()].join(', ') || 'none'}); the embedded store filters on indexed fields only`,
    );
  }
  const col = column(condition.key);
  let expr = 'FALSE';
  if ('match' in condition) {
    const match = condition.match as { value?: string | number | boolean; any?: (string | number)[] };
    if ('any' in match) {
      const any = match.any!;
      if (type === 'keyword' && typeof any[0] === 'string') expr = `array_has_any(${col}, [${any.map((v) => sqlString(v as string)).join(', ')}])`;
      else if ((type === 'integer' || type === 'float') && typeof any[0] === 'number')
        expr = `${col} IN (${any.map((v) => sqlNumber(v as number)).join(', ')})`;
    } else {
      const v = match.value;
      if (type === 'keyword' && typeof v === 'string') expr = `array_has(${col}, ${sqlString(v)})`;
      else if ((type === 'integer' || type === 'float') && typeof v === 'number') expr = `${col} = ${sqlNumber(v)}`;
      else if (type === 'bool' && typeof v === 'boolean') expr = `${col} = ${v ? 'TRUE' : 'FALSE'}`;
    }
  } else if (type === 'integer' || type === 'float') {
    const bounds: string[] = [];
    const { gt, gte, lt, lte } = condition.range;
    // An Int64 column takes only integer literals: tighten fractional bounds to the same set.
    const int = type === 'integer';
    if (gt !== undefined) bounds.push(int ? `${col} > ${sqlNumber(Math.floor(gt))}` : `${col} > ${sqlNumber(gt)}`);
    if (gte !== undefined) bounds.push(int ? `${col} >= ${sqlNumber(Math.ceil(gte))}` : `${col} >= ${sqlNumber(gte)}`);
    if (lt !== undefined) bounds.push(int ? `${col} < ${sqlNumber(Math.ceil(lt))}` : `${col} < ${sqlNumber(lt)}`);
    if (lte !== undefined) bounds.push(int ? `${col} <= ${sqlNumber(Math.floor(lte))}` : `${col} <= ${sqlNumber(lte)}`);
    expr = bounds.length ? bounds.join(' AND ') : `${col} IS NOT NULL`;
  }
  return `COALESCE((${expr}), FALSE)`;
}

// ---- Rows ----

function columnValue(type: PayloadFieldType, value: unknown): unknown {
  switch (type) {
    case 'keyword':
      if (typeof value === 'string') return [value];
      if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
      return [];
    case 'integer':
      return Number.isSafeInteger(value) ? BigInt(value as number) : null;
    case 'float':
      return typeof value === 'number' && Number.isFinite(value) ? value : null;
    case 'bool':
      return typeof value === 'boolean' ? value : null;
  }
}

function toRow(point: PointInput, fields: Map<string, PayloadFieldType>): Record<string, unknown> {
  const sparse = checkSparse(point.sparse, `point ${point.id}`);
  const row: Record<string, unknown> = {
    id: normalizeId(point.id),
    dense: normalizeDense(point.dense),
    sparse_indices: sparse.indices,
    sparse_values: sparse.values,
    payload: JSON.stringify(point.payload),
  };
  for (const [key, type] of fields) row[PAYLOAD_PREFIX + key] = columnValue(type, point.payload[key]);
  return row;
}

/** Calls `visit(row, values, start, end)` for each row of a List column, without materialising JS arrays. */
function forEachList(vector: ArrowVector, visit: (row: number, values: ArrayLike<number>, start: number, end: number) => void): void {
  let row = 0;
  for (const data of vector.data) {
    const offsets = data.valueOffsets as Int32Array;
    const child = data.children[0];
    const values = child.values as ArrayLike<number>;
    const base = child.offset;
    for (let i = 0; i < data.length; i++) {
      visit(row++, values, base + offsets[data.offset + i], base + offsets[data.offset + i + 1]);
    }
  }
}

/** LanceDB's own "no such table" (it has no error codes, only messages). */
function isMissingTable(error: unknown): boolean {
  return /not found|does not exist|was not found/i.test(String((error as Error)?.message ?? error));
}

// ---- Adapter ----

export class LanceDbVectorStore implements VectorStore {
  readonly backend = 'lancedb' as const;
  readonly dir: string;
  private readonly logger: VectorStoreLogger;
  private readonly consistency: number;
  private readonly optimizeEvery: number;
  private connection?: Promise<lancedb.Connection>;
  private readonly collections = new Map<string, Promise<CollectionState>>();
  private readonly ensuring = new Map<string, Promise<void>>();
  private closed = false;

  constructor(options: LanceStoreOptions = {}) {
    this.dir = resolve(options.dir ?? DEFAULT_LANCE_DIR);
    this.logger = options.logger ?? silentLogger;
    this.consistency = options.readConsistencyIntervalSeconds ?? 0;
    this.optimizeEvery = options.optimizeEveryWrites ?? 32;
  }

  private db(): Promise<lancedb.Connection> {
    if (this.closed) throw new VectorStoreError('vector store is closed');
    this.connection ??= (async () => {
      mkdirSync(this.dir, { recursive: true });
      return lancedb.connect(this.dir, { readConsistencyInterval: this.consistency });
    })();
    return this.connection;
  }

  private state(name: string): Promise<CollectionState> {
    checkCollectionName(name);
    let state = this.collections.get(name);
    if (!state) {
      state = (async () => {
        const db = await this.db();
        let table: lancedb.Table;
        try {
          table = await db.openTable(name);
        } catch (error) {
          if (isMissingTable(error)) throw new CollectionNotFoundError(name, { cause: error });
          throw error;
        }
        const { dims, fields } = describeSchema(await table.schema());
        return { table, dims, fields, writes: Promise.resolve(), writesSinceOptimize: 0 };
      })();
      this.collections.set(name, state);
      const settled = state;
      settled.catch(() => {
        if (this.collections.get(name) === settled) this.collections.delete(name);
      });
    }
    return state;
  }

  /** Serialises writes to one table from this process (Lance commits optimistically). */
  private write<T>(state: CollectionState, fn: () => Promise<T>): Promise<T> {
    const run = state.writes.then(fn, fn);
    state.writes = run.then(
      () => this.afterWrite(state),
      () => this.afterWrite(state),
    );
    return run;
  }

  private async afterWrite(state: CollectionState): Promise<void> {
    state.writesSinceOptimize++;
    if (state.writesSinceOptimize < this.optimizeEvery) return;
    state.writesSinceOptimize = 0;
    try {
      await state.table.optimize();
    } catch (error) {
      this.logger.warn({ error: String(error) }, 'lancedb: optimize failed (reads stay correct, only slower)');
    }
  }

  async ensureCollection(input: CollectionSpec): Promise<void> {
    const spec = resolveSpec(input);
    // One at a time per collection in this process; other processes are handled by retries.
    const run = (this.ensuring.get(spec.name) ?? Promise.resolve()).catch(() => undefined).then(() => this.ensureOnce(spec));
    this.ensuring.set(spec.name, run);
    try {
      await run;
    } finally {
      if (this.ensuring.get(spec.name) === run) this.ensuring.delete(spec.name);
    }
  }

  private async ensureOnce(spec: Required<CollectionSpec>): Promise<void> {
    let state: CollectionState | undefined;
    try {
      state = await this.state(spec.name);
    } catch (error) {
      if (!(error instanceof CollectionNotFoundError)) throw error;
    }
    if (!state) {
      const db = await this.db();
      try {
        await db.createEmptyTable(spec.name, tableSchema(spec), { existOk: true });
      } catch (error) {
        // existOk covers a table that is there before we look, not one another process commits
        // while we create it: lance then refuses our Overwrite as a conflict, and theirs is the table.
        if (!isCommitConflict(error)) throw error;
      }
      this.collections.delete(spec.name);
      state = await this.state(spec.name);
      this.logger.info({ collection: spec.name, dims: spec.denseDimensions, dir: this.dir }, 'lancedb: collection ready');
    }
    if (state.dims !== spec.denseDimensions) {
      throw new VectorStoreError(`lancedb collection ${spec.name} exists with ${state.dims}-d dense vectors, wanted ${spec.denseDimensions}`);
    }
    for (const [key, type] of Object.entries(spec.payloadIndexes)) {
      const have = state.fields.get(key);
      if (have !== type) {
        throw new VectorStoreError(
          `lancedb collection ${spec.name}: payload index ${key} is ${have ?? 'missing'}, wanted ${type}; the embedded store fixes its payload indexes at creation (drop and re-ingest to change them)`,
        );
      }
    }
    await this.ensureIndexes(state);
  }

  /** Creates the scalar indexes a collection lacks; another process creating them too is fine. */
  private async ensureIndexes(state: CollectionState): Promise<void> {
    const wanted: [string, () => lancedb.Index][] = [
      ['id', () => lancedb.Index.btree()],
      ['sparse_indices', () => lancedb.Index.labelList()],
      ...[...state.fields].map(([key, type]) => [PAYLOAD_PREFIX + key, () => indexFor(type)] as [string, () => lancedb.Index]),
    ];
    for (let attempt = 0; ; attempt++) {
      const existing = new Set((await state.table.listIndices()).flatMap((i) => i.columns));
      const missing = wanted.filter(([col]) => !existing.has(col));
      if (missing.length === 0) return;
      try {
        for (const [col, config] of missing) await this.write(state, () => state.table.createIndex(col, { config: config(), replace: false }));
      } catch (error) {
        if (!isCommitConflict(error) || attempt >= 5) throw error;
        await new Promise((r) => setTimeout(r, 20 * (attempt + 1)));
      }
    }
  }

  async upsert(collection: string, points: PointInput[], options: UpsertOptions = {}): Promise<{ upserted: number }> {
    const state = await this.state(collection);
    for (const point of points) checkPoint(point, state.dims);
    const unique = dedupeById(points);
    const schema = await state.table.schema();
    for (const batch of chunks(unique, options.batchSize ?? LANCE_BATCH_SIZE)) {
      const data = lancedb.makeArrowTable(
        batch.map((p) => toRow(p, state.fields)),
        { schema },
      );
      await this.write(state, () => state.table.mergeInsert('id').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(data));
    }
    return { upserted: unique.length };
  }

  async deleteByFilter(collection: string, filter: Filter): Promise<void> {
    const state = await this.state(collection);
    checkFilter(filter);
    if (isEmptyFilter(filter)) throw new VectorStoreError('deleteByFilter needs a non-empty filter');
    const where = filterToSql(filter, state.fields);
    await this.write(state, () => state.table.delete(where));
  }

  async count(collection: string, filter?: Filter): Promise<number> {
    const state = await this.state(collection);
    if (filter) checkFilter(filter);
    return filter && !isEmptyFilter(filter) ? state.table.countRows(filterToSql(filter, state.fields)) : state.table.countRows();
  }

  async retrieve(collection: string, ids: string[], options: { withVectors?: boolean } = {}): Promise<RetrievedPoint[]> {
    const state = await this.state(collection);
    const wanted = ids.map(normalizeId);
    if (wanted.length === 0) return [];
    const columns = ['id', 'payload', ...(options.withVectors ? ['dense', 'sparse_indices', 'sparse_values'] : [])];
    const rows = await state.table
      .query()
      .where(`id IN (${[...new Set(wanted)].map(sqlString).join(', ')})`)
      .select(columns)
      .toArray();
    const byId = new Map<string, RetrievedPoint>();
    for (const row of rows) {
      const point: RetrievedPoint = { id: row.id as string, payload: JSON.parse(row.payload as string) as Record<string, unknown> };
      if (options.withVectors) {
        point.dense = Array.from(row.dense as ArrayLike<number>);
        point.sparse = { indices: Array.from(row.sparse_indices as ArrayLike<number>), values: Array.from(row.sparse_values as ArrayLike<number>) };
      }
      byId.set(point.id, point);
    }
    return wanted.flatMap((id) => (byId.has(id) ? [byId.get(id)!] : []));
  }

  async search(collection: string, request: SearchRequest): Promise<ScoredPoint[]> {
    const state = await this.state(collection);
    const search = resolveSearch(request, state.dims);
    const where = search.filter ? filterToSql(search.filter, state.fields) : undefined;
    let results: Candidate[];
    if (search.mode === 'dense') {
      results = await this.denseLeg(state, search, where, search.limit);
    } else if (search.mode === 'sparse') {
      results = await this.sparseLeg(state, search.sparse!, where, search.limit);
    } else {
      const [dense, sparse] = await Promise.all([
        this.denseLeg(state, search, where, search.prefetchLimit),
        this.sparseLeg(state, search.sparse!, where, search.prefetchLimit),
      ]);
      results = reciprocalRankFusion([dense, sparse], search.rrfK, search.limit).map(({ item, score }) => ({ ...item, score }));
    }
    // The sparse leg scores many candidates; their payloads are read only for the winners.
    const missing = results.filter((r) => r.payload === undefined).map((r) => r.id);
    if (missing.length > 0) {
      const rows = await state.table
        .query()
        .where(`id IN (${missing.map(sqlString).join(', ')})`)
        .select(['id', 'payload'])
        .toArray();
      const payloads = new Map(rows.map((row) => [row.id as string, row.payload as string]));
      for (const r of results) r.payload ??= payloads.get(r.id);
    }
    return results.map((r) => ({ id: r.id, score: r.score, payload: JSON.parse(r.payload ?? '{}') as Record<string, unknown> }));
  }

  private async denseLeg(state: CollectionState, search: ResolvedSearch, where: string | undefined, limit: number): Promise<Candidate[]> {
    let query = state.table.vectorSearch(search.dense!).column('dense').distanceType('cosine').limit(limit).select(['id', 'payload', '_distance']);
    if (where) query = query.where(where);
    const rows = await query.toArray();
    return rows.map((row) => ({ id: row.id as string, score: 1 - (row._distance as number), payload: row.payload as string }));
  }

  /** Σ q·idf·d over the points sharing a term with the query, top `limit`. */
  private async sparseLeg(state: CollectionState, query: SparseVector, where: string | undefined, limit: number): Promise<Candidate[]> {
    const n = query.indices.length;
    if (n === 0) return [];
    const version = await state.table.version();
    const terms = `array_has_any(sparse_indices, [${query.indices.map((i) => i.toFixed(0)).join(', ')}])`;
    const candidates = await state.table
      .query()
      .where(where ? `${terms} AND ${where}` : terms)
      .select(['id', 'sparse_indices', 'sparse_values'])
      .toArrow();
    const rows = candidates.numRows;
    if (rows === 0) return [];
    // One pass: each candidate's weight for each query term, and how many candidates hold it.
    const slot = new Map<number, number>(query.indices.map((term, i) => [term, i]));
    // Most stored terms are not query terms: a 64K-entry mask on the low bits skips the map.
    const mask = new Uint8Array(65_536);
    for (const term of query.indices) mask[term & 0xffff] = 1;
    const valueArrays: ArrayLike<number>[] = new Array(rows);
    const valueStarts = new Int32Array(rows);
    forEachList(candidates.getChild('sparse_values')!, (row, values, start) => {
      valueArrays[row] = values;
      valueStarts[row] = start;
    });
    const weights = new Float32Array(rows * n);
    const held = new Int32Array(n);
    forEachList(candidates.getChild('sparse_indices')!, (row, indices, start, end) => {
      const values = valueArrays[row];
      const offset = valueStarts[row] - start;
      for (let j = start; j < end; j++) {
        if (mask[indices[j] & 0xffff] === 0) continue;
        const s = slot.get(indices[j]);
        if (s !== undefined) {
          weights[row * n + s] = values[offset + j];
          held[s]++;
        }
      }
    });
    // Without a filter the candidates are exactly the points holding a query term, so `held`
    // is the document frequency; with one, the statistics come from the whole table.
    const idf = await this.idfFor(state, version, query.indices, where ? undefined : held);
    const factor = query.indices.map((_, s) => query.values[s] * idf[s]);
    const scores = new Float64Array(rows);
    for (let row = 0; row < rows; row++) {
      let score = 0;
      for (let s = 0; s < n; s++) score += factor[s] * weights[row * n + s];
      scores[row] = score;
    }
    const order = Array.from(scores.keys())
      .sort((a, b) => scores[b] - scores[a])
      .slice(0, limit);
    const ids = candidates.getChild('id')!;
    return order.map((row) => ({ id: ids.get(row) as string, score: scores[row] }));
  }

  /** IDF of each term over table version `version`, with document frequencies cached per version. */
  private async idfFor(state: CollectionState, version: number, terms: number[], held?: Int32Array): Promise<number[]> {
    if (!state.stats || state.stats.version !== version) {
      state.stats = { version, total: await state.table.countRows(), df: new Map() };
    }
    const stats = state.stats;
    const missing = terms.filter((t) => !stats.df.has(t));
    if (missing.length > 0) {
      if (held) {
        terms.forEach((term, s) => stats.df.set(term, held[s]));
      } else {
        const source = await state.table
          .query()
          .where(`array_has_any(sparse_indices, [${missing.map((i) => i.toFixed(0)).join(', ')}])`)
          .select(['sparse_indices'])
          .toArrow();
        const counts = new Map<number, number>(missing.map((t) => [t, 0]));
        forEachList(source.getChild('sparse_indices')!, (_row, indices, start, end) => {
          for (let j = start; j < end; j++) {
            const c = counts.get(indices[j]);
            if (c !== undefined) counts.set(indices[j], c + 1);
          }
        });
        for (const [term, count] of counts) stats.df.set(term, count);
      }
    }
    return terms.map((t) => bm25Idf(stats.total, stats.df.get(t)!));
  }

  async dropCollection(name: string): Promise<void> {
    checkCollectionName(name);
    const db = await this.db();
    const state = this.collections.get(name);
    this.collections.delete(name);
    if (state) await state.then((s) => s.writes.catch(() => undefined).then(() => s.table.close())).catch(() => undefined);
    try {
      await db.dropTable(name);
    } catch (error) {
      if (!isMissingTable(error)) throw error;
    }
  }

  async collectionExists(name: string): Promise<boolean> {
    try {
      await this.state(name);
      return true;
    } catch (error) {
      if (error instanceof CollectionNotFoundError) return false;
      throw error;
    }
  }

  /** Compacts and re-indexes every open collection now (also done every `optimizeEveryWrites` writes). */
  async optimize(collection: string): Promise<void> {
    const state = await this.state(collection);
    await this.write(state, () => state.table.optimize());
  }

  async health(): Promise<HealthStatus> {
    try {
      const db = await this.db();
      await db.tableNames({ limit: 1 });
      return { ok: true, backend: 'lancedb', detail: `lancedb (embedded) at ${this.dir}` };
    } catch (error) {
      return { ok: false, backend: 'lancedb', detail: `lancedb at ${this.dir}: ${String((error as Error)?.message ?? error)}` };
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const state of this.collections.values()) {
      await state.then((s) => s.writes.catch(() => undefined).then(() => s.table.close())).catch(() => undefined);
    }
    this.collections.clear();
    if (this.connection) (await this.connection).close();
  }
}

/** Another process committed to the same table first (lance's retryable conflicts, or an index it already built). */
function isCommitConflict(error: unknown): boolean {
  return /already exists|conflict|preempted|retry/i.test(String((error as Error)?.message ?? error));
}
