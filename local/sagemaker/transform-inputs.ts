// What a transform job reads and the defaults it runs with: both the request handlers
// (transform-jobs.ts checks the input prefix at create time, and fills the defaults in) and the
// runner (which lists the inputs again when it starts) need them, so they live apart from either.
import { prefixFolder } from '../../common/s3-uri.js';
import type { S3Client } from '@aws-sdk/client-s3';
import type { TransformInput } from '@aws-sdk/client-sagemaker';
import { getObject, isS3NotFound, listObjects, parseS3Uri, type S3Location } from '../s3.js';

/** AWS's defaults when the request leaves them out. */
export const TRANSFORM_DEFAULTS = {
  MaxPayloadInMB: 6,
  MaxConcurrentTransforms: 1,
  BatchStrategy: 'SingleRecord',
  InvocationsTimeoutInSeconds: 600,
  InvocationsMaxRetries: 3,
} as const;

export interface TransformInputObject {
  location: S3Location;
  /** The key relative to the input prefix: the output is `<S3OutputPath>/<relative>.out`. */
  relative: string;
}

/** The input prefix could not be listed or is empty: a ValidationException at create time, a failure later. */
export class NoTransformInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoTransformInputError';
  }
}

function noObjectsMessage(uri: string, region: string, roleArn: string | undefined): string {
  const bucket = parseS3Uri(uri)?.bucket ?? uri;
  const role = roleArn ? `, and that the role "${roleArn}" has "s3:ListBucket" permissions on bucket "${bucket}"` : '';
  return `No S3 objects found under S3 URL "${uri}" given in input data source. Please ensure that the bucket exists in the selected region (${region}), that objects exist under that S3 prefix${role}.`;
}

/**
 * The objects a transform input names: everything under an S3Prefix, or the keys a manifest
 * lists (`[{"prefix": "s3://bucket/dir/"}, "a.jsonl", "sub/b.jsonl"]`).
 */
export async function listTransformInputs(
  s3: S3Client,
  input: TransformInput,
  context: { region: string; roleArn?: string },
  limit = Infinity,
): Promise<TransformInputObject[]> {
  const { S3DataType, S3Uri } = input.DataSource!.S3DataSource!;
  const uri = S3Uri!;
  const location = parseS3Uri(uri)!;
  const none = () => new NoTransformInputError(noObjectsMessage(uri, context.region, context.roleArn));
  if (S3DataType === 'ManifestFile') {
    let manifest: unknown;
    try {
      manifest = JSON.parse((await getObject(s3, location)).toString('utf8'));
    } catch (err) {
      if (isS3NotFound(err)) throw none();
      if (err instanceof SyntaxError) throw new NoTransformInputError(`The manifest file "${uri}" is not valid JSON: ${err.message}`);
      throw err;
    }
    const [head, ...keys] = Array.isArray(manifest) ? manifest : [];
    const prefix = (head as { prefix?: unknown } | undefined)?.prefix;
    const base = typeof prefix === 'string' ? parseS3Uri(prefix) : undefined;
    if (!base || !keys.every((k) => typeof k === 'string')) {
      throw new NoTransformInputError(`The manifest file "${uri}" must be a JSON array: [{"prefix": "s3://bucket/prefix/"}, "relative/key", ...].`);
    }
    if (!keys.length) throw none();
    return (keys as string[]).slice(0, limit).map((relative) => ({ location: { bucket: base.bucket, key: base.key + relative }, relative }));
  }
  let objects;
  try {
    objects = await listObjects(s3, location, limit);
  } catch (err) {
    if (isS3NotFound(err)) throw none();
    throw err;
  }
  if (!objects.length) throw none();
  // Relative to the prefix's folder, so a prefix that ends mid-name (s3://b/in/part-) keeps whole
  // file names; the one rule the client's output count uses too.
  const dir = prefixFolder(location.key);
  return objects.map((o) => ({ location: { bucket: location.bucket, key: o.key }, relative: o.key.slice(dir.length) }));
}
