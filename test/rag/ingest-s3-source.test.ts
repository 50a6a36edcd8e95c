// Reading a corpus from an S3 source as S3 matches prefixes: `s3://b/kb` takes `kb-old/` too,
// and every listed file reads back from the key it was listed under. Real moto S3 behind the
// local cloud.
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { listSourceFiles, readDocuments } from '../../activities/documents.js';
import { startActivityCloud, type ActivityCloud } from '../activities/support.js';

let env: ActivityCloud;

beforeAll(async () => {
  env = await startActivityCloud();
  const s3 = env.clients.s3;
  await s3.send(new CreateBucketCommand({ Bucket: 'corpus' }));
  await s3.send(new PutObjectCommand({ Bucket: 'corpus', Key: 'kb/scaling.md', Body: '# Scaling\nTarget tracking on invocations.' }));
  await s3.send(new PutObjectCommand({ Bucket: 'corpus', Key: 'kb-old/quotas.md', Body: '# Quotas\nAsk before a launch.' }));
});
afterAll(async () => {
  await env?.close();
});

it('a source without the trailing / is a key prefix; files are named from its folder and read back', async () => {
  const s3 = env.clients.s3;
  const source = { s3Uri: 's3://corpus/kb' };
  const files = await listSourceFiles(s3, source);
  expect(files).toEqual(['kb-old/quotas.md', 'kb/scaling.md']);
  const docs = await readDocuments(s3, source, files);
  expect(docs.map((d) => [d.id, d.title])).toEqual([
    ['kb-old/quotas.md', 'Quotas'],
    ['kb/scaling.md', 'Scaling'],
  ]);
});

it('with the / it is the folder: names relative to it, as before', async () => {
  const source = { s3Uri: 's3://corpus/kb/' };
  expect(await listSourceFiles(env.clients.s3, source)).toEqual(['scaling.md']);
  expect((await readDocuments(env.clients.s3, source, ['scaling.md']))[0]).toMatchObject({ id: 'scaling.md', title: 'Scaling' });
});
