// The keyring of the payload codec: which AES-256 keys exist, and which one encrypts new
// payloads. Loaded from the environment or from a key file; every error names the variable
// (or file) and the rule, and never contains key material. Node-only (fs): workers, clients
// and the codec server import it, workflow code must not.
//
//   LLMOPS_CODEC_KEYS="k2:<base64 of 32 bytes>,k1:<base64 of 32 bytes>"   current = first
//   LLMOPS_CODEC_KEYS_FILE=/path/keys (mode 0600): the same entries one per line (# comments),
//       or JSON {"current": "k2", "keys": [{"id": "k2", "key": "<base64>"}, ...]}
//   LLMOPS_CODEC_KEY_ID=k2   overrides which listed key is current
//
// Rotation: put the new key first (or name it in LLMOPS_CODEC_KEY_ID) and keep the old ones
// listed for as long as histories encrypted with them must stay readable.
import { readFileSync, statSync } from 'node:fs';
import { codecConfig } from './config.js';

export const KEY_BYTES = 32;
/** Key ids travel in clear in payload metadata: short, printable, never secret. */
export const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export interface CodecKeyring {
  /** Encrypts every new payload. */
  currentKeyId: string;
  /** Every key that may decrypt, the current one included. */
  keys: ReadonlyMap<string, Buffer>;
}

export class CodecKeyConfigError extends Error {
  override name = 'CodecKeyConfigError';
}

interface KeyEntry {
  id: string;
  key: string;
}

/** Checks one entry; `where` says which variable/file and entry, for the message. */
function decodeKey({ id, key }: KeyEntry, where: string): [string, Buffer] {
  if (!KEY_ID.test(id)) throw new CodecKeyConfigError(`${where}: the key id must match ${KEY_ID.source} (letters, digits, '.', '_', '-'; at most 64)`);
  const compact = key.trim();
  if (!BASE64.test(compact) || compact.length % 4 !== 0) {
    throw new CodecKeyConfigError(
      `${where} (key id '${id}'): the key must be standard base64 of ${KEY_BYTES} random bytes, e.g. from 'openssl rand -base64 32'`,
    );
  }
  const bytes = Buffer.from(compact, 'base64');
  if (bytes.length !== KEY_BYTES) {
    throw new CodecKeyConfigError(`${where} (key id '${id}'): the key decodes to ${bytes.length} bytes; AES-256-GCM needs exactly ${KEY_BYTES}`);
  }
  return [id, bytes];
}

/** `id:base64` entries; the text after the first ':' is the key, so it is never echoed. */
function parseEntries(items: string[], source: string, noun: string): KeyEntry[] {
  return items.map((item, i) => {
    const colon = item.indexOf(':');
    if (colon < 0) throw new CodecKeyConfigError(`${source}: ${noun} ${i + 1} must look like <key id>:<base64 key> (no ':' found)`);
    return { id: item.slice(0, colon).trim(), key: item.slice(colon + 1) };
  });
}

function parseKeyFile(path: string): { entries: KeyEntry[]; current?: string } {
  const source = `LLMOPS_CODEC_KEYS_FILE=${path}`;
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (err) {
    throw new CodecKeyConfigError(`${source}: cannot read the key file (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  // Like ssh with a private key: a key file others can read (or replace) is not a secret.
  if (mode & 0o077) {
    throw new CodecKeyConfigError(
      `${source}: the key file is accessible by group or others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); run 'chmod 600 ${path}'`,
    );
  }
  const text = readFileSync(path, 'utf8');
  if (text.trimStart().startsWith('{')) {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      // JSON.parse's message quotes the text around the error, which may be key material.
      throw new CodecKeyConfigError(`${source}: the file starts with '{' but is not valid JSON`);
    }
    const shape = `${source}: JSON key files look like {"current": "<id>", "keys": [{"id": "<id>", "key": "<base64>"}]}`;
    const { current, keys } = (doc ?? {}) as { current?: unknown; keys?: unknown };
    if (!Array.isArray(keys) || (current !== undefined && typeof current !== 'string')) throw new CodecKeyConfigError(shape);
    const entries = keys.map((k: unknown, i) => {
      const { id, key } = (k ?? {}) as { id?: unknown; key?: unknown };
      if (typeof id !== 'string' || typeof key !== 'string') throw new CodecKeyConfigError(`${shape} (keys[${i}] is not)`);
      return { id, key };
    });
    return { entries, current };
  }
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  return { entries: parseEntries(lines, source, 'line') };
}

/** The keyring the environment configures, or undefined when no key is configured. */
export function loadCodecKeyring(env: NodeJS.ProcessEnv = process.env): CodecKeyring | undefined {
  const { LLMOPS_CODEC_KEYS: inline, LLMOPS_CODEC_KEYS_FILE: file, LLMOPS_CODEC_KEY_ID: chosen } = codecConfig.read(env);
  if (inline && file) throw new CodecKeyConfigError('Set only one of LLMOPS_CODEC_KEYS and LLMOPS_CODEC_KEYS_FILE');
  if (!inline && !file) {
    if (chosen) throw new CodecKeyConfigError('LLMOPS_CODEC_KEY_ID is set but no keys are: set LLMOPS_CODEC_KEYS or LLMOPS_CODEC_KEYS_FILE');
    return undefined;
  }
  // Not echoed: a key pasted into the wrong variable must not end up in a log.
  if (chosen && !KEY_ID.test(chosen)) throw new CodecKeyConfigError(`LLMOPS_CODEC_KEY_ID must be a key id matching ${KEY_ID.source}`);
  const source = inline ? 'LLMOPS_CODEC_KEYS' : `LLMOPS_CODEC_KEYS_FILE=${file}`;
  const { entries, current } = inline
    ? {
        entries: parseEntries(
          inline
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
          source,
          'entry',
        ),
        current: undefined,
      }
    : parseKeyFile(file!);
  if (!entries.length) throw new CodecKeyConfigError(`${source}: lists no keys`);

  const keys = new Map<string, Buffer>();
  entries.forEach((entry, i) => {
    const [id, bytes] = decodeKey(entry, `${source} entry ${i + 1}`);
    if (keys.has(id)) throw new CodecKeyConfigError(`${source}: key id '${id}' is listed twice`);
    keys.set(id, bytes);
  });
  const currentKeyId = chosen || current || entries[0].id;
  if (!keys.has(currentKeyId)) {
    const by = chosen ? 'LLMOPS_CODEC_KEY_ID' : `${source} "current"`;
    throw new CodecKeyConfigError(`${by} names key id '${currentKeyId}', which ${source} does not list (it lists: ${[...keys.keys()].join(', ')})`);
  }
  return { currentKeyId, keys };
}
