// The configuration module: `.env.example` lists exactly the variables the schema knows (with the
// same defaults), every default obeys its own rule, a bad value is an error naming the variable
// and the rule (never quoting a secret), the one log level honours LOG_LEVEL as a fallback, and
// workflow code never reads the environment.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  codecConfig,
  configGroups,
  httpUrl,
  localCloudConfig,
  logLevel,
  telemetryConfig,
  variableGroup,
  vectorStoreConfig,
} from '../../common/config.js';
import { projectRoot } from '../../common/project-paths.js';

const schemaDefaults = new Map<string, string>(
  configGroups.flatMap((group) => Object.entries(group.variables).map(([name, v]) => [name, (v as { default?: string }).default ?? ''] as [string, string])),
);

describe('.env.example', () => {
  const listed = new Map<string, string>();
  for (const line of readFileSync(join(projectRoot, '.env.example'), 'utf8').split('\n')) {
    const m = /^#?\s*([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) {
      expect(listed.has(m[1]!), `${m[1]} listed twice`).toBe(false);
      listed.set(m[1]!, m[2]!);
    }
  }

  it('lists the same variables as common/config.ts', () => {
    expect([...listed.keys()].sort()).toEqual([...schemaDefaults.keys()].sort());
  });

  it('shows the schema’s default for each', () => {
    expect(Object.fromEntries(listed)).toEqual(Object.fromEntries(schemaDefaults));
  });

  it('gives each variable a comment line just above it', () => {
    const lines = readFileSync(join(projectRoot, '.env.example'), 'utf8').split('\n');
    lines.forEach((line, i) => {
      const variable = /^#?\s*[A-Z][A-Z0-9_]*=/;
      if (variable.test(line)) {
        expect(lines[i - 1], line).toMatch(/^# \S/);
        expect(lines[i - 1], line).not.toMatch(variable);
      }
    });
  });
});

describe('config groups', () => {
  it('read an empty environment: every default obeys its own rule', () => {
    for (const group of configGroups) expect(() => group.read({}), group.title).not.toThrow();
    expect(localCloudConfig.read({})).toMatchObject({
      LOCAL_CLOUD_TIME_SCALE: 1,
      LOCAL_CLOUD_INSTANCE_QUOTA: 4,
      LOCAL_CLOUD_MAX_INSTANCES: 8,
      LLMOPS_QDRANT: false,
    });
  });

  it('parse values, blank meaning unset', () => {
    const env = { LOCAL_CLOUD_TIME_SCALE: ' 60 ', LOCAL_CLOUD_MAX_INSTANCES: '', LLMOPS_QDRANT: '1' };
    expect(localCloudConfig.read(env)).toMatchObject({ LOCAL_CLOUD_TIME_SCALE: 60, LOCAL_CLOUD_MAX_INSTANCES: 8, LLMOPS_QDRANT: true });
    expect(telemetryConfig.read({ LLMOPS_WORKER_METRICS_PORT: '9464' }).LLMOPS_WORKER_METRICS_PORT).toBe(9464);
  });

  it('name the variable, the rule and the value of every bad one', () => {
    const read = () => localCloudConfig.read({ LOCAL_CLOUD_TIME_SCALE: 'abc', LOCAL_CLOUD_MAX_INSTANCES: '-1' });
    expect(read).toThrow(ConfigError);
    expect(read).toThrow('LOCAL_CLOUD_TIME_SCALE must be a number ≥ 1, got "abc"; LOCAL_CLOUD_MAX_INSTANCES must be a whole number ≥ 0, got "-1"');
    expect(() => localCloudConfig.read({ LOCAL_CLOUD_TIME_SCALE: '0.5' })).toThrow('LOCAL_CLOUD_TIME_SCALE must be a number ≥ 1, got "0.5"');
    expect(() => vectorStoreConfig.read({ VECTOR_STORE: 'pinecone' })).toThrow('VECTOR_STORE must be one of auto, qdrant, lancedb, got "pinecone"');
    expect(() => vectorStoreConfig.read({ QDRANT_URL: 'localhost:6333' })).toThrow('QDRANT_URL must be an http:// or https:// URL, got "localhost:6333"');
    expect(() => telemetryConfig.read({ LLMOPS_WORKER_METRICS_PORT: '70000' })).toThrow(
      'LLMOPS_WORKER_METRICS_PORT must be a port number from 1 to 65535, got "70000"',
    );
    expect(() => telemetryConfig.read({ OTEL_SDK_DISABLED: 'yes' })).toThrow('OTEL_SDK_DISABLED must be true or false (or 1 or 0), got "yes"');
  });

  it('never quote the value of a secret', () => {
    const secret = 'sk-live-do-not-print';
    expect(codecConfig.variables.LLMOPS_CODEC_KEYS.secret).toBe(true);
    // Every secret variable of the schema is free text today, so none can break a rule: a group
    // with a secret that must be a URL stands in for a future one.
    const group = variableGroup('t', { TOKEN_URL: httpUrl('a secret URL', { secret: true }) });
    expect(() => group.read({ TOKEN_URL: secret })).toThrow(
      /^TOKEN_URL must be an http:\/\/ or https:\/\/ URL, got a value that does not \(not shown: it is a secret\)$/,
    );
    expect(() => group.read({ TOKEN_URL: secret })).not.toThrow(new RegExp(secret));
  });
});

describe('log level', () => {
  it('is LLMOPS_LOG_LEVEL, else LOG_LEVEL, else info', () => {
    expect(logLevel({})).toBe('info');
    expect(logLevel({ LOG_LEVEL: 'debug' })).toBe('debug');
    expect(logLevel({ LOG_LEVEL: 'debug', LLMOPS_LOG_LEVEL: 'warn' })).toBe('warn');
    expect(() => logLevel({ LOG_LEVEL: 'loud' })).toThrow('LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"');
  });
});

describe('workflow code', () => {
  it('never imports the configuration (workflows are deterministic: no environment)', () => {
    const dir = join(projectRoot, 'workflows');
    for (const file of readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'))) {
      const source = readFileSync(join(dir, file), 'utf8');
      expect(source, file).not.toMatch(/common\/config(\.js)?['/]/);
      expect(source, file).not.toMatch(/process\.env/);
    }
  });
});
