// S3 reads the batch workflows need: counting the records under an input prefix and those a
// transform job wrote for exactly those inputs (activities: streamed, paginated, heartbeating
// and resumable, so any size of input is counted), and reading an object that may not exist
// yet (a plain function, for the async inference poll).
import { GetObjectCommand, HeadObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { activityInfo, asyncLocalStorage, heartbeat } from '@temporalio/activity';
import { parseS3Uri, transformOutputUri } from '../common/s3-uri.js';
import { awsPages, callAws, classifyAwsError, isNotFound } from './aws-errors.js';

export type RecordCount = {
  objects: number;
  records: number;
  bytes: number;
};

export type TransformOutputCount = RecordCount & {
  /** Inputs of the job with no output object. */
  missingObjects: number;
};

/** The keys under an S3 prefix (every page of ListObjectsV2, in key order), as bucket, key and size. */
export async function* objectsUnder(s3: S3Client, uri: string, startAfter?: string): AsyncGenerator<{ bucket: string; key: string; size: number }> {
  const { bucket, key: prefix } = parseS3Uri(uri);
  const request = { Bucket: bucket, Prefix: prefix, ...(startAfter ? { StartAfter: startAfter } : {}) };
  for await (const page of awsPages(`ListObjectsV2 ${uri}`, paginateListObjectsV2({ client: s3 }, request))) {
    for (const o of page.Contents ?? []) if (o.Key) yield { bucket, key: o.Key, size: o.Size ?? 0 };
  }
}

/** The object's text (at most `maxBytes`), or undefined when it does not exist yet. */
export async function readS3Object(
  s3: S3Client,
  { s3Uri, maxBytes = 256 * 1024 }: { s3Uri: string; maxBytes?: number },
): Promise<{ body: string; truncated: boolean } | undefined> {
  const { bucket, key } = parseS3Uri(s3Uri);
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    return classifyAwsError(err, `HeadObject ${s3Uri}`);
  }
  const out = await callAws(`GetObject ${s3Uri}`, () => s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=0-${maxBytes}` })));
  const text = (await out.Body?.transformToString('utf8')) ?? '';
  return { body: text.slice(0, maxBytes), truncated: text.length > maxBytes };
}

/** Non-blank lines of a streamed body, as Batch Transform counts records with `Line` splitting. */
async function countLines(body: AsyncIterable<Uint8Array>, beat: () => void): Promise<number> {
  let lines = 0;
  let lineHasContent = false;
  for await (const chunk of body) {
    for (const byte of chunk) {
      if (byte === 0x0a) {
        if (lineHasContent) lines++;
        lineHasContent = false;
      } else if (byte !== 0x0d && byte !== 0x20 && byte !== 0x09) {
        lineHasContent = true;
      }
    }
    beat();
  }
  return lineHasContent ? lines + 1 : lines;
}

/**
 * What a count heartbeats: the counts so far and the last object fully counted. A retried
 * attempt (another worker, after a crash) resumes after that key instead of starting over;
 * ListObjectsV2 lists in key order, so StartAfter skips exactly the objects already counted.
 */
interface CountCheckpoint<T> {
  after?: string;
  count: T;
}

/**
 * Runs a count over the objects under `uri`, heartbeating, resuming from the last heartbeat.
 * `countObject` gives one object's share; it is added only once the object is done, so a
 * heartbeat never holds half an object (a resumed attempt would count it twice).
 */
async function resumableCount<T extends Record<string, number>>(
  s3: S3Client,
  uri: string,
  initial: T,
  countObject: (object: { bucket: string; key: string; size: number }, beat: () => void) => Promise<Partial<T>>,
): Promise<T> {
  // Called directly too (tests, scripts), where there is no activity to heartbeat or resume.
  const inActivity = asyncLocalStorage.getStore() !== undefined;
  const resumed = inActivity ? (activityInfo().heartbeatDetails as CountCheckpoint<T> | undefined) : undefined;
  const count: T = { ...initial, ...resumed?.count };
  let after = resumed?.after;
  // A copy: the SDK may send the details later, after the count has moved on.
  const beat = () => inActivity && heartbeat({ after, count: { ...count } } satisfies CountCheckpoint<T>);
  for await (const object of objectsUnder(s3, uri, after)) {
    // Folder markers are not records (the local cloud's transform skips them too).
    if (!object.key.endsWith('/')) {
      const share = await countObject(object, beat);
      for (const [field, n] of Object.entries(share)) (count as Record<string, number>)[field] += n as number;
    }
    after = object.key;
    beat();
  }
  return count;
}

export function createS3Activities({ s3 }: { s3: S3Client }) {
  const body = async (bucket: string, key: string) =>
    (await callAws(`GetObject s3://${bucket}/${key}`, () => s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })))).Body as AsyncIterable<Uint8Array>;

  return {
    /**
     * Objects and records under a prefix (S3 semantics: every key that starts with it). With
     * `Line` splitting a record is a non-empty line, as Batch Transform counts them; objects
     * are streamed, never held whole in memory.
     */
    countS3Records: ({ s3Uri, splitType = 'Line' }: { s3Uri: string; splitType?: 'Line' | 'None' }): Promise<RecordCount> =>
      resumableCount(s3, s3Uri, { objects: 0, records: 0, bytes: 0 }, async (object, beat) => ({
        objects: 1,
        bytes: object.size,
        records: splitType === 'None' ? 1 : await countLines(await body(object.bucket, object.key), beat),
      })),

    /**
     * The records a transform job wrote for its inputs: for each object under the input
     * prefix, its `.out` under the output path (named as Batch Transform names it). Other
     * objects there, such as the `.out` of inputs an earlier run had, are not counted.
     */
    countTransformOutputs: ({
      inputS3Uri,
      outputS3Uri,
      splitType = 'Line',
    }: {
      inputS3Uri: string;
      outputS3Uri: string;
      splitType?: 'Line' | 'None';
    }): Promise<TransformOutputCount> =>
      resumableCount(s3, inputS3Uri, { objects: 0, records: 0, bytes: 0, missingObjects: 0 }, async (input, beat) => {
        const { bucket, key } = parseS3Uri(transformOutputUri(inputS3Uri, input.key, outputS3Uri));
        const request = { Bucket: bucket, Key: key };
        let out;
        try {
          // With `None` splitting an output object is one record, even an empty one: no need to read it.
          out = await (splitType === 'None' ? s3.send(new HeadObjectCommand(request)) : s3.send(new GetObjectCommand(request)));
        } catch (err) {
          if (!isNotFound(err)) return classifyAwsError(err, `GetObject s3://${bucket}/${key}`);
          return { missingObjects: 1 };
        }
        return {
          objects: 1,
          bytes: out.ContentLength ?? 0,
          records: 'Body' in out ? await countLines(out.Body as AsyncIterable<Uint8Array>, beat) : 1,
        };
      }),
  };
}
