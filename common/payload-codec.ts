// AES-256-GCM payload codec: what Temporal stores (inputs, results, activity arguments,
// memos) is ciphertext; only processes holding a key from the keyring (workers, clients, the
// codec server) see plaintext. Shape of Temporal's encryption sample: the whole payload
// (metadata and data) is serialized and encrypted, and the outer payload says
// `encoding: binary/encrypted` plus which key did it (`encryption-key-id`), so keys can rotate.
// Node-only (node:crypto): never import this from workflow code.
//
// Ciphertext layout: 12-byte random IV | AES-GCM ciphertext | 16-byte tag. The key id and
// encoding are bound as additional authenticated data, so relabelling a payload with another
// key id fails authentication instead of decrypting under the wrong name.
import { METADATA_ENCODING_KEY, ValueError, type DataConverter, type Payload, type PayloadCodec } from '@temporalio/common';
// A CommonJS module whose named exports Node's ESM loader cannot see: take the default export.
import proto from '@temporalio/proto';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { KEY_ID, loadCodecKeyring, type CodecKeyring } from './codec-keys.js';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA_KEY = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const ProtoPayload = proto.temporal.api.common.v1.Payload;

const utf8 = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));
const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : undefined);
const aad = (keyId: string) => Buffer.from(`${ENCRYPTED_ENCODING}\n${keyId}`, 'utf8');

export class AesGcmPayloadCodec implements PayloadCodec {
  constructor(private readonly keyring: CodecKeyring) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const keyId = this.keyring.currentKeyId;
    const key = this.keyring.keys.get(keyId)!;
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(aad(keyId));
      const plain = ProtoPayload.encode(payload).finish();
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: { [METADATA_ENCODING_KEY]: utf8(ENCRYPTED_ENCODING), [KEY_ID_METADATA_KEY]: utf8(keyId) },
        data: new Uint8Array(data),
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload, i) => {
      // Payloads written before encryption was turned on stay readable as they are.
      if (text(payload.metadata?.[METADATA_ENCODING_KEY]) !== ENCRYPTED_ENCODING) return payload;
      const keyId = text(payload.metadata?.[KEY_ID_METADATA_KEY]);
      if (!keyId) throw new ValueError(`Encrypted payload ${i} has no ${KEY_ID_METADATA_KEY} metadata, so no key can be chosen to decrypt it`);
      const key = this.keyring.keys.get(keyId);
      if (!key) {
        const shown = KEY_ID.test(keyId) ? `'${keyId}'` : '(not a valid key id)';
        throw new ValueError(
          `Encrypted payload ${i} names key id ${shown}, which this process's keyring does not hold (it holds: ${[...this.keyring.keys.keys()].join(', ')}); ` +
            'keep retired keys listed in LLMOPS_CODEC_KEYS / LLMOPS_CODEC_KEYS_FILE while histories still use them',
        );
      }
      const data = Buffer.from(payload.data ?? []);
      if (data.length < IV_BYTES + TAG_BYTES) throw new ValueError(`Encrypted payload ${i} is ${data.length} bytes, shorter than an IV and a tag`);
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
      decipher.setAAD(aad(keyId));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      } catch {
        throw new ValueError(
          `Encrypted payload ${i} failed authentication with key id '${keyId}': the key under that id differs from the one that encrypted it, or the payload was altered`,
        );
      }
      return ProtoPayload.decode(plain);
    });
  }
}

/**
 * The data converter options for workers and clients: `{ payloadCodecs: [codec] }` when the
 * environment configures a key (see codec-keys.ts), else undefined (payloads stay plain JSON).
 */
export function encryptionDataConverter(env: NodeJS.ProcessEnv = process.env): DataConverter | undefined {
  const keyring = loadCodecKeyring(env);
  return keyring ? { payloadCodecs: [new AesGcmPayloadCodec(keyring)] } : undefined;
}
