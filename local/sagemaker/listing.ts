// The List* conventions SageMaker shares across resources: NameContains, creation-time
// windows, SortBy/SortOrder (Name or CreationTime, default CreationTime, Descending), MaxResults
// (default 10) and an opaque NextToken; for resources with a status (endpoints, jobs) also
// StatusEquals, SortBy Status and last-modified-time windows. Each resource module supplies its
// records.
import { validationError, wireTimeToMs } from './protocol.js';
import { InputChecks, NAME_CONTAINS_PATTERN } from './validation.js';

export interface CommonListInput {
  SortBy?: string;
  SortOrder?: string;
  NextToken?: string;
  MaxResults?: number;
  NameContains?: string;
  CreationTimeBefore?: number | string;
  CreationTimeAfter?: number | string;
  StatusEquals?: string;
  LastModifiedTimeBefore?: number | string;
  LastModifiedTimeAfter?: number | string;
}

export interface Listable {
  name: string;
  /** epoch ms */
  creationTime: number;
}

/**
 * The token is the offset of the next item, tied to the sort it was issued for, so a token
 * reused with a different sort is rejected rather than silently skipping or repeating items.
 */
function encodeToken(offset: number, sort: string): string {
  return Buffer.from(JSON.stringify({ offset, sort })).toString('base64url');
}

function decodeToken(token: string, sort: string): number {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { offset?: unknown; sort?: unknown };
    if (typeof parsed.offset === 'number' && Number.isInteger(parsed.offset) && parsed.offset >= 0 && parsed.sort === sort) {
      return parsed.offset;
    }
  } catch {
    /* fall through */
  }
  throw validationError('Invalid pagination token.');
}

/** A resource with a status: what its statuses are, and how to read a record's status and last change. */
export interface StatusListing<T> {
  statuses: readonly string[];
  statusOf: (r: T) => string;
  /** epoch ms */
  lastModifiedOf: (r: T) => number;
}

export function listRecords<T extends Listable>(records: T[], input: CommonListInput, status?: StatusListing<T>): { page: T[]; NextToken?: string } {
  const modifiedBefore = input.LastModifiedTimeBefore === undefined ? undefined : wireTimeToMs(input.LastModifiedTimeBefore);
  const modifiedAfter = input.LastModifiedTimeAfter === undefined ? undefined : wireTimeToMs(input.LastModifiedTimeAfter);
  const sortKeys: Record<string, (r: T) => string | number> = {
    Name: (r) => r.name,
    CreationTime: (r) => r.creationTime,
    ...(status && { Status: status.statusOf }),
  };
  const checks = new InputChecks();
  checks.oneOf(input.SortBy, 'sortBy', Object.keys(sortKeys));
  checks.oneOf(input.SortOrder, 'sortOrder', ['Ascending', 'Descending']);
  checks.integerAtLeast(input.MaxResults, 'maxResults', 1, 100);
  if (checks.optionalString(input.NameContains, 'nameContains')) {
    checks.maxLength(input.NameContains, 'nameContains', 63);
    checks.pattern(input.NameContains, 'nameContains', NAME_CONTAINS_PATTERN);
  }
  if (status) checks.oneOf(input.StatusEquals, 'statusEquals', status.statuses);
  checks.done();

  const sortBy = input.SortBy ?? 'CreationTime';
  const order = input.SortOrder ?? 'Descending';
  const needle = input.NameContains?.toLowerCase();
  const before = input.CreationTimeBefore === undefined ? undefined : wireTimeToMs(input.CreationTimeBefore);
  const after = input.CreationTimeAfter === undefined ? undefined : wireTimeToMs(input.CreationTimeAfter);

  const key = sortKeys[sortBy]!;
  const direction = order === 'Ascending' ? 1 : -1;
  const selected = records
    .filter(
      (r) =>
        (needle === undefined || r.name.toLowerCase().includes(needle)) &&
        (before === undefined || r.creationTime < before) &&
        (after === undefined || r.creationTime >= after) &&
        (!status ||
          ((input.StatusEquals === undefined || status.statusOf(r) === input.StatusEquals) &&
            (modifiedBefore === undefined || status.lastModifiedOf(r) < modifiedBefore) &&
            (modifiedAfter === undefined || status.lastModifiedOf(r) >= modifiedAfter))),
    )
    // Ties (same second, same status) fall back to the name so pages never overlap.
    .sort((a, b) => {
      const ka = key(a);
      const kb = key(b);
      const primary = ka < kb ? -1 : ka > kb ? 1 : 0;
      return direction * (primary || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    });

  const sortId = `${sortBy}:${order}`;
  const offset = input.NextToken ? decodeToken(input.NextToken, sortId) : 0;
  const max = input.MaxResults ?? 10;
  const page = selected.slice(offset, offset + max);
  const next = offset + max;
  return { page, NextToken: next < selected.length ? encodeToken(next, sortId) : undefined };
}
