// Encryption at rest for what the local cloud writes to its state dir that may hold secrets:
// container environments in sagemaker.json (HF_TOKEN) and moto journal entries (Secrets Manager
// CreateSecret/PutSecretValue bodies). AES-256-GCM with a key made for each state dir and kept
// beside the state in a 0600 file, so a copied or backed-up state file alone, or a stray `cat`
// or grep, shows no secret, and a restart with the same state dir reads everything back.
// Also the one place that decides the modes of what the local cloud writes (files 0600, dirs 0700).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

const KEY_FILE = 'state.key';
const PREFIX = 'sealed:v1:';

/** mkdir -p with mode 0700, tightening a directory that already exists. */
export function makePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  chmodSync(dir, PRIVATE_DIR_MODE);
}

export class StateCipher {
  private constructor(private readonly key: Buffer) {}

  /** The state dir's key, created (0600) on first use. */
  static forStateDir(stateDir: string): StateCipher {
    const file = join(stateDir, KEY_FILE);
    let encoded: string;
    try {
      encoded = readFileSync(file, 'utf8').trim();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      encoded = randomBytes(32).toString('base64');
      // 'wx': two local clouds starting on one new state dir must not each write their own key.
      try {
        writeFileSync(file, `${encoded}\n`, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
      } catch (raced) {
        if ((raced as NodeJS.ErrnoException).code !== 'EEXIST') throw raced;
        encoded = readFileSync(file, 'utf8').trim();
      }
    }
    const key = Buffer.from(encoded, 'base64');
    if (key.length !== 32) throw new Error(`${file}: not a 256-bit key (base64); delete it only together with the state it encrypts`);
    return new StateCipher(key);
  }

  /** A random key that lives in memory only, for a store with no state file. */
  static ephemeral(): StateCipher {
    return new StateCipher(randomBytes(32));
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${PREFIX}${Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64')}`;
  }

  static isSealed(value: unknown): value is string {
    return typeof value === 'string' && value.startsWith(PREFIX);
  }

  open(sealed: string): string {
    if (!StateCipher.isSealed(sealed)) throw new Error('not a sealed value');
    const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  }

  sealJson(value: unknown): string {
    return this.seal(JSON.stringify(value));
  }

  openJson<T>(sealed: string): T {
    return JSON.parse(this.open(sealed)) as T;
  }
}
