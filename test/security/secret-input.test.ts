// What the workflows refuse before any activity runs: secret references that could copy a worker
// variable other than a token into a model, and literal tokens in a container environment. Each
// refusal names the field and the rule, and never quotes the refused value.
import { describe, expect, it } from 'vitest';
import { batchTransformInputSchema } from '../../common/batch-input.js';
import { deployEndpointInputSchema, type DeployEndpointInput } from '../../common/endpoint-input.js';
import { InvalidInputError, parseInput } from '../../common/input-parsing.js';
import { readExample } from '../../dev/tools.js';

const base = readExample<DeployEndpointInput>('deploy-local.json');
const withModel = (model: Partial<DeployEndpointInput['model']>): DeployEndpointInput => ({ ...base, model: { ...base.model, ...model } });

function problemsOf(input: unknown, schema: Parameters<typeof parseInput>[0] = deployEndpointInputSchema): string[] {
  try {
    parseInput(schema, 'deployEndpoint', input);
  } catch (err) {
    if (err instanceof InvalidInputError) return err.problems;
    throw err;
  }
  return [];
}

// Shaped like real credentials but made up for this test.
const HF_LIKE = 'hf_' + 'Q7w'.repeat(12);
const AWS_SECRET_LIKE = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

describe('hfTokenSecret', () => {
  it('accepts the forms that resolve on the worker, including the old {envVar: "HF_TOKEN"}', () => {
    for (const ref of [
      { envVar: 'HF_TOKEN' },
      { envVar: 'HUGGING_FACE_HUB_TOKEN' },
      // Names outside the default allowlist pass the static rule; the worker's allowlist decides.
      { envVar: 'TEAM_HF_TOKEN' },
      { secretId: 'prod/hf-token' },
      { secretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/hf-token-AbCdEf', jsonKey: 'token' },
    ]) {
      expect(problemsOf(withModel({ hfTokenSecret: ref })), JSON.stringify(ref)).toEqual([]);
    }
  });

  it.each(['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'TEMPORAL_API_KEY', 'LLMOPS_PAYLOAD_KEY', 'NODE_OPTIONS', 'LD_PRELOAD', 'PATH', 'not a name'])(
    'refuses envVar %s, naming the rule',
    (name) => {
      const problems = problemsOf(withModel({ hfTokenSecret: { envVar: name } }));
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(
        /^model\.hfTokenSecret\.envVar: must name a token variable on the worker's allowlist \(default HF_TOKEN, HUGGING_FACE_HUB_TOKEN/,
      );
      expect(problems[0]).toContain('LLMOPS_SECRET_ENV_ALLOWLIST');
    },
  );

  it('needs exactly one source, and jsonKey only with secretId', () => {
    expect(problemsOf(withModel({ hfTokenSecret: {} }))).toEqual([
      'model.hfTokenSecret: must give exactly one of secretId (Secrets Manager) or envVar (worker environment)',
    ]);
    expect(problemsOf(withModel({ hfTokenSecret: { envVar: 'HF_TOKEN', secretId: 'x' } }))).toEqual([
      'model.hfTokenSecret: must give exactly one of secretId (Secrets Manager) or envVar (worker environment)',
    ]);
    expect(problemsOf(withModel({ hfTokenSecret: { envVar: 'HF_TOKEN', jsonKey: 'token' } }))).toEqual([
      'model.hfTokenSecret.jsonKey: only applies to a Secrets Manager secret (secretId)',
    ]);
    expect(problemsOf(withModel({ hfTokenSecret: { secretId: 'has spaces' } }))).toEqual([
      'model.hfTokenSecret.secretId: must be a Secrets Manager secret ARN or name (letters, digits and /_+=.@-)',
    ]);
  });
});

describe('a literal secret in model.environment', () => {
  it.each([
    ['HF_TOKEN', 'anything'],
    ['HUGGING_FACE_HUB_TOKEN', 'anything'],
    ['GITHUB_TOKEN', 'anything'],
    ['AWS_SECRET_ACCESS_KEY', 'anything'],
    ['DB_PASSWORD', 'anything'],
    ['CLIENT_SECRET_VALUE', 'anything'],
    ['EXTRA', HF_LIKE],
    ['EXTRA', `prefix ${HF_LIKE} suffix`],
    ['EXTRA', AWS_SECRET_LIKE],
    ['EXTRA', 'AKIAIOSFODNN7EXAMPLE'],
  ])('is refused under %s, naming the key and not the value', (key, value) => {
    const problems = problemsOf(withModel({ environment: { MAX_BATCH_SIZE: '4', [key]: value } }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      new RegExp(`^model\\.environment\\.${key}: must not hold a secret literally .*pass the Hugging Face token by reference in model\\.hfTokenSecret$`),
    );
    expect(problems.join('\n')).not.toContain(value);
  });

  it('leaves ordinary settings alone, including a 40-character git revision', () => {
    const environment = { HF_MODEL_REVISION: 'a3f1c5e9b2d4f6a8c0e1b3d5f7a9c1e3b5d7f9a1', MAX_BATCH_SIZE: '4', TOKENIZERS_PARALLELISM: 'false' };
    expect(problemsOf(withModel({ environment }))).toEqual([]);
  });

  it('is refused in a batch job, in the model it creates and in the job environment', () => {
    const batch = {
      model: { ...base.model, environment: { HF_TOKEN: 'x' } },
      input: { s3Uri: 's3://bucket/in/' },
      output: { s3Uri: 's3://bucket/out/' },
      instanceType: 'ml.m5.large',
      environment: { EXTRA: HF_LIKE },
    };
    const problems = problemsOf(batch, batchTransformInputSchema);
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['environment.EXTRA', 'model.environment.HF_TOKEN']);
    expect(problems.join('\n')).not.toContain(HF_LIKE);
  });
});
