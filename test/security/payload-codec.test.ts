// The AES-GCM payload codec and its keyring: round trip, ciphertext, rotation, and the errors a
// misconfigured key or a foreign payload must produce (naming the variable, never the key).
import { defaultPayloadConverter, METADATA_ENCODING_KEY, ValueError, type Payload } from '@temporalio/common';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CodecKeyConfigError, loadCodecKeyring } from '../../common/codec-keys.js';
import { AesGcmPayloadCodec, ENCRYPTED_ENCODING, encryptionDataConverter, KEY_ID_METADATA_KEY } from '../../common/payload-codec.js';

const newKey = () => randomBytes(32).toString('base64');
const OLD = newKey();
const NEW = newKey();
const SECRET = 'the prompt nobody else may read: 4711-quux';

const codecFor = (env: NodeJS.ProcessEnv) => new AesGcmPayloadCodec(loadCodecKeyring(env)!);
const plainPayload = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const str = (b?: Uint8Array | null) => Buffer.from(b ?? []).toString('utf8');

/** The message of what `fn` throws; fails the test when it does not throw. */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

/** What `promise` rejects with; fails the test when it resolves. */
const rejected = (promise: Promise<unknown>): Promise<Error> =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: Error) => err,
  );

const dir = mkdtempSync(join(tmpdir(), 'codec-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('AesGcmPayloadCodec', () => {
  it('round-trips payloads, and the stored bytes are ciphertext labelled with the key id', async () => {
    const codec = codecFor({ LLMOPS_CODEC_KEYS: `k1:${OLD}` });
    const original = [plainPayload({ prompt: SECRET }), plainPayload(undefined), plainPayload(new Uint8Array([1, 2, 3]))];
    const encoded = await codec.encode(original);
    for (const p of encoded) {
      expect(str(p.metadata?.[METADATA_ENCODING_KEY])).toBe(ENCRYPTED_ENCODING);
      expect(str(p.metadata?.[KEY_ID_METADATA_KEY])).toBe('k1');
      expect(Object.keys(p.metadata ?? {}).sort()).toEqual([METADATA_ENCODING_KEY, KEY_ID_METADATA_KEY].sort());
    }
    const stored = Buffer.from(encoded[0].data!);
    expect(stored.includes(Buffer.from(SECRET))).toBe(false);
    expect(stored.includes(Buffer.from('json/plain'))).toBe(false);
    expect(stored.toString('base64')).not.toContain(Buffer.from(SECRET).toString('base64'));

    const decoded = await codec.decode(encoded);
    expect(defaultPayloadConverter.fromPayload(decoded[0])).toEqual({ prompt: SECRET });
    expect(defaultPayloadConverter.fromPayload(decoded[1])).toBeUndefined();
    expect(defaultPayloadConverter.fromPayload(decoded[2])).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('uses a fresh IV per payload: the same value encrypts differently each time', async () => {
    const codec = codecFor({ LLMOPS_CODEC_KEYS: `k1:${OLD}` });
    const [a, b] = await codec.encode([plainPayload(SECRET), plainPayload(SECRET)]);
    expect(Buffer.from(a.data!).subarray(0, 12).equals(Buffer.from(b.data!).subarray(0, 12))).toBe(false);
    expect(Buffer.from(a.data!).equals(Buffer.from(b.data!))).toBe(false);
  });

  it('decodes a payload encrypted with the old key after rotation, and encrypts new ones with the new key', async () => {
    const [before] = await codecFor({ LLMOPS_CODEC_KEYS: `k1:${OLD}` }).encode([plainPayload(SECRET)]);
    const rotated = codecFor({ LLMOPS_CODEC_KEYS: `k2:${NEW},k1:${OLD}` });
    const [after] = await rotated.encode([plainPayload('new')]);
    expect(str(after.metadata?.[KEY_ID_METADATA_KEY])).toBe('k2');
    const [oldDecoded, newDecoded] = await rotated.decode([before, after]);
    expect(defaultPayloadConverter.fromPayload(oldDecoded)).toBe(SECRET);
    expect(defaultPayloadConverter.fromPayload(newDecoded)).toBe('new');
    // LLMOPS_CODEC_KEY_ID picks the current key among those listed.
    const chosen = codecFor({ LLMOPS_CODEC_KEYS: `k2:${NEW},k1:${OLD}`, LLMOPS_CODEC_KEY_ID: 'k1' });
    expect(str((await chosen.encode([plainPayload(1)]))[0].metadata?.[KEY_ID_METADATA_KEY])).toBe('k1');
  });

  it('refuses a payload whose key id is not in the keyring, naming the id and how to fix it', async () => {
    const encoded = await codecFor({ LLMOPS_CODEC_KEYS: `retired:${OLD}` }).encode([plainPayload(SECRET)]);
    const err = await rejected(codecFor({ LLMOPS_CODEC_KEYS: `k2:${NEW}` }).decode(encoded));
    expect(err).toBeInstanceOf(ValueError);
    expect(err.message).toContain("key id 'retired'");
    expect(err.message).toContain('holds: k2');
    expect(err.message).toContain('LLMOPS_CODEC_KEYS');
  });

  it('refuses ciphertext under the right id but another key, or relabelled to another id', async () => {
    const encoded = await codecFor({ LLMOPS_CODEC_KEYS: `k1:${OLD}` }).encode([plainPayload(SECRET)]);
    const wrongKey = await rejected(codecFor({ LLMOPS_CODEC_KEYS: `k1:${NEW}` }).decode(encoded));
    expect(wrongKey.message).toMatch(/failed authentication with key id 'k1'/);
    const relabelled = { ...encoded[0], metadata: { ...encoded[0].metadata, [KEY_ID_METADATA_KEY]: Buffer.from('k2') } };
    const both = codecFor({ LLMOPS_CODEC_KEYS: `k2:${OLD},k1:${OLD}` });
    expect((await rejected(both.decode([relabelled]))).message).toMatch(/failed authentication with key id 'k2'/);
    const tampered = Buffer.from(encoded[0].data!);
    tampered[20] ^= 1;
    expect((await rejected(both.decode([{ ...encoded[0], data: tampered }]))).message).toMatch(/failed authentication/);
  });

  it('passes plain payloads (written before encryption was on) through decode unchanged', async () => {
    const plain = plainPayload({ a: 1 });
    const [decoded] = await codecFor({ LLMOPS_CODEC_KEYS: `k1:${OLD}` }).decode([plain]);
    expect(decoded).toBe(plain);
  });
});

describe('codec keyring configuration', () => {
  it('is off when no key is configured', () => {
    expect(loadCodecKeyring({})).toBeUndefined();
    expect(encryptionDataConverter({})).toBeUndefined();
    expect(encryptionDataConverter({ LLMOPS_CODEC_KEYS: `k1:${OLD}` })?.payloadCodecs).toHaveLength(1);
  });

  it.each([
    [
      'a key of the wrong length',
      { LLMOPS_CODEC_KEYS: `k1:${randomBytes(16).toString('base64')}` },
      /LLMOPS_CODEC_KEYS entry 1 \(key id 'k1'\): the key decodes to 16 bytes/,
    ],
    ['a key that is not base64', { LLMOPS_CODEC_KEYS: `k1:not*base64!${OLD}` }, /LLMOPS_CODEC_KEYS entry 1 \(key id 'k1'\): the key must be standard base64/],
    ['an entry without an id', { LLMOPS_CODEC_KEYS: `k1:${OLD},${NEW}` }, /LLMOPS_CODEC_KEYS: entry 2 must look like <key id>:<base64 key>/],
    ['a bad key id', { LLMOPS_CODEC_KEYS: `bad id:${OLD}` }, /LLMOPS_CODEC_KEYS entry 1: the key id must match/],
    ['a duplicate id', { LLMOPS_CODEC_KEYS: `k1:${OLD},k1:${NEW}` }, /LLMOPS_CODEC_KEYS: key id 'k1' is listed twice/],
    [
      'a current id that is not listed',
      { LLMOPS_CODEC_KEYS: `k1:${OLD}`, LLMOPS_CODEC_KEY_ID: 'k9' },
      /LLMOPS_CODEC_KEY_ID names key id 'k9', which LLMOPS_CODEC_KEYS does not list \(it lists: k1\)/,
    ],
    ['a key pasted as the key id', { LLMOPS_CODEC_KEYS: `k1:${OLD}`, LLMOPS_CODEC_KEY_ID: NEW }, /LLMOPS_CODEC_KEY_ID must be a key id/],
    ['both sources', { LLMOPS_CODEC_KEYS: `k1:${OLD}`, LLMOPS_CODEC_KEYS_FILE: '/x' }, /Set only one of LLMOPS_CODEC_KEYS and LLMOPS_CODEC_KEYS_FILE/],
    ['a key id with no keys', { LLMOPS_CODEC_KEY_ID: 'k1' }, /LLMOPS_CODEC_KEY_ID is set but no keys are/],
  ])('refuses %s, naming the variable and never echoing a key', (_what, env, message) => {
    const err = thrown(() => loadCodecKeyring(env));
    expect(err).toBeInstanceOf(CodecKeyConfigError);
    expect(err.message).toMatch(message);
    for (const key of [OLD, NEW]) expect(err.message).not.toContain(key);
    expect(err.message).not.toContain('not*base64');
  });

  it('reads a key file of lines or JSON, and refuses one that group or others can read', () => {
    const lines = join(dir, 'keys.txt');
    writeFileSync(lines, `# rotated 2024-05\nk2:${NEW}\n\nk1:${OLD}\n`, { mode: 0o600 });
    const fromLines = loadCodecKeyring({ LLMOPS_CODEC_KEYS_FILE: lines })!;
    expect(fromLines.currentKeyId).toBe('k2');
    expect([...fromLines.keys.keys()]).toEqual(['k2', 'k1']);

    const json = join(dir, 'keys.json');
    writeFileSync(
      json,
      JSON.stringify({
        current: 'k1',
        keys: [
          { id: 'k2', key: NEW },
          { id: 'k1', key: OLD },
        ],
      }),
      { mode: 0o600 },
    );
    expect(loadCodecKeyring({ LLMOPS_CODEC_KEYS_FILE: json })!.currentKeyId).toBe('k1');
    expect(loadCodecKeyring({ LLMOPS_CODEC_KEYS_FILE: json, LLMOPS_CODEC_KEY_ID: 'k2' })!.currentKeyId).toBe('k2');

    chmodSync(json, 0o644);
    const open = thrown(() => loadCodecKeyring({ LLMOPS_CODEC_KEYS_FILE: json }));
    expect(open.message).toBe(`LLMOPS_CODEC_KEYS_FILE=${json}: the key file is accessible by group or others (mode 0644); run 'chmod 600 ${json}'`);

    const broken = join(dir, 'broken.json');
    writeFileSync(broken, `{"keys": [{"id": "k1", "key": "${OLD}"`, { mode: 0o600 });
    const bad = thrown(() => loadCodecKeyring({ LLMOPS_CODEC_KEYS_FILE: broken }));
    expect(bad.message).toMatch(/is not valid JSON/);
    expect(bad.message).not.toContain(OLD);

    const missing = thrown(() => loadCodecKeyring({ LLMOPS_CODEC_KEYS_FILE: join(dir, 'nope') }));
    expect(missing.message).toMatch(/LLMOPS_CODEC_KEYS_FILE=.*nope: cannot read the key file \(ENOENT\)/);
  });
});
