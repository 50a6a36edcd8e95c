// S3 URIs: the one rule inputs are checked against, and the one parser the activities and
// clients use to split a URI into bucket and key. Workflow-safe: no I/O.
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';

/** `s3://<bucket>[/<key>]`, the bucket named as S3 allows (3-63 lowercase letters, digits, dots, hyphens). */
const S3_URI = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/;

/** An input field holding an S3 URI; `what` says what it points at, in the error message. */
export const s3UriSchema = (form: 'bucket/prefix' | 'bucket/key', what?: string) =>
  z.string().regex(S3_URI, `must be an s3://${form} URI${what ? ` (${what})` : ''}`);

/** Bucket and key (the key may be empty) of `s3://bucket/key`; anything else fails, non-retryably. */
export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!match) throw ApplicationFailure.nonRetryable(`Not an S3 URI: ${uri}`, 'InvalidS3Uri');
  return { bucket: match[1], key: match[2] };
}
