// Where Temporal is, as workers, clients and the CLI all resolve it: profile file, then TEMPORAL_*
// variables, then explicit choices; an API key turns TLS on (Temporal Cloud); a missing profile is
// a clear error. No server: the connection config only.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TemporalConfigError, localTemporalConnection, temporalConnectionConfig } from '../../common/temporal-connection.js';

const dir = mkdtempSync(join(tmpdir(), 'temporal-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'temporal.toml');
writeFileSync(
  file,
  [
    '[profile.default]',
    'address = "127.0.0.1:7999"',
    '[profile.cloud]',
    'address = "my-ns.a1b2c.tmprl.cloud:7233"',
    'namespace = "my-ns.a1b2c"',
    'api_key = "profile-key"',
    '[profile.mtls]',
    'address = "my-ns.a1b2c.tmprl.cloud:7233"',
    'namespace = "my-ns.a1b2c"',
    '[profile.mtls.tls]',
    'client_cert_data = "CERT"',
    'client_key_data = "KEY"',
    'server_name = "my-ns.a1b2c.tmprl.cloud"',
  ].join('\n'),
);

describe('temporalConnectionConfig', () => {
  it('defaults to the local dev server when nothing is configured', () => {
    expect(temporalConnectionConfig({}, { TEMPORAL_CONFIG_FILE: join(dir, 'none.toml') })).toEqual({ address: '127.0.0.1:7233', namespace: 'default' });
  });

  it('reads the default profile, TEMPORAL_PROFILE or the selected one; variables then selection win', () => {
    const env = { TEMPORAL_CONFIG_FILE: file };
    expect(temporalConnectionConfig({}, env)).toEqual({ address: '127.0.0.1:7999', namespace: 'default' });
    expect(temporalConnectionConfig({}, { ...env, TEMPORAL_PROFILE: 'cloud' })).toEqual({
      address: 'my-ns.a1b2c.tmprl.cloud:7233',
      namespace: 'my-ns.a1b2c',
      apiKey: 'profile-key',
      tls: true,
    });
    expect(temporalConnectionConfig({ profile: 'cloud' }, { ...env, TEMPORAL_API_KEY: 'env-key', TEMPORAL_NAMESPACE: 'other' })).toMatchObject({
      apiKey: 'env-key',
      namespace: 'other',
    });
    expect(temporalConnectionConfig({ profile: 'cloud', address: '127.0.0.1:1', namespace: 'n' }, { ...env, TEMPORAL_ADDRESS: '127.0.0.1:2' })).toMatchObject({
      address: '127.0.0.1:1',
      namespace: 'n',
    });
  });

  it('takes mTLS from the profile and TEMPORAL_TLS_* variables', () => {
    const tls = temporalConnectionConfig({ profile: 'mtls' }, { TEMPORAL_CONFIG_FILE: file }).tls;
    expect(tls).toMatchObject({ serverNameOverride: 'my-ns.a1b2c.tmprl.cloud' });
    const pair = (tls as { clientCertPair: { crt: Uint8Array; key: Uint8Array } }).clientCertPair;
    expect([Buffer.from(pair.crt).toString(), Buffer.from(pair.key).toString()]).toEqual(['CERT', 'KEY']);
    const fromEnv = temporalConnectionConfig(
      {},
      { TEMPORAL_CONFIG_FILE: join(dir, 'none.toml'), TEMPORAL_TLS: 'true', TEMPORAL_TLS_SERVER_NAME: 'x.example' },
    ).tls;
    expect(fromEnv).toMatchObject({ serverNameOverride: 'x.example' });
  });

  it('names the file and the profile when the profile is missing', () => {
    expect(() => temporalConnectionConfig({ profile: 'nope' }, { TEMPORAL_CONFIG_FILE: file })).toThrow(TemporalConfigError);
    expect(() => temporalConnectionConfig({ profile: 'nope' }, { TEMPORAL_CONFIG_FILE: file })).toThrow(
      `Temporal client config (${file}): Profile 'nope' not found`,
    );
  });

  it('the embedded stack ignores the shell: a local connection has no key and no TLS', () => {
    expect(localTemporalConnection('127.0.0.1:5555')).toEqual({ address: '127.0.0.1:5555', namespace: 'default' });
  });
});
