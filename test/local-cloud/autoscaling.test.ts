// Application Auto Scaling for the sagemaker namespace as the local cloud serves it, through the
// SDK and the aws CLI: operations, AWS's errors, other namespaces still answered by moto, the
// alarms target tracking creates (describe-alarms) and deletes, and a real endpoint of the tiny
// model scaled out by the evaluator under synthetic metrics (LOCAL_CLOUD_TIME_SCALE 60), its
// instances really started, through UpdateEndpointWeightsAndCapacities.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  ApplicationAutoScalingClient,
  DeleteScalingPolicyCommand,
  DeregisterScalableTargetCommand,
  DescribeScalableTargetsCommand,
  DescribeScalingActivitiesCommand,
  DescribeScalingPoliciesCommand,
  PutScalingPolicyCommand,
  RegisterScalableTargetCommand,
} from '@aws-sdk/client-application-auto-scaling';
import { CloudWatchClient, DescribeAlarmsCommand, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DescribeEndpointCommand,
  SageMakerClient,
  UpdateEndpointWeightsAndCapacitiesCommand,
} from '@aws-sdk/client-sagemaker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../../dev/processes.js';
import { awsCli } from '../../dev/tools.js';
import { startLocalCloud, type LocalCloud } from '../../local/server.js';
import { awsEnv, clientConfig, recordingPool, settledEndpoint, TGI_IMAGE, TINY_MODEL_ID, type RecordingPool } from './support.js';

const run = promisify(execFile);
const stateDir = mkdtempSync(join(tmpdir(), 'autoscaling-test-'));
let cloud: LocalCloud;
let pool: RecordingPool;
let aas: ApplicationAutoScalingClient;
let cw: CloudWatchClient;
let sm: SageMakerClient;
const ENDPOINT = 'scaled-ep';
const RESOURCE = `endpoint/${ENDPOINT}/variant/AllTraffic`;
const DIMENSION = 'sagemaker:variant:DesiredInstanceCount' as const;

beforeAll(async () => {
  pool = recordingPool(stateDir);
  cloud = await startLocalCloud({ port: 0, stateDir, pool, timeScale: 60 });
  aas = new ApplicationAutoScalingClient(clientConfig(cloud.url));
  cw = new CloudWatchClient(clientConfig(cloud.url));
  sm = new SageMakerClient(clientConfig(cloud.url));
  await sm.send(new CreateModelCommand({ ModelName: 'scaled-model', PrimaryContainer: { Image: TGI_IMAGE, Environment: { HF_MODEL_ID: TINY_MODEL_ID } } }));
  await sm.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: 'scaled-config',
      ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'scaled-model', InstanceType: 'ml.g5.xlarge', InitialInstanceCount: 1 }],
    }),
  );
  await sm.send(new CreateEndpointCommand({ EndpointName: ENDPOINT, EndpointConfigName: 'scaled-config' }));
  expect((await settledEndpoint(sm, ENDPOINT))?.EndpointStatus).toBe('InService');
}, 120_000);

afterAll(async () => {
  await cloud?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

const aws = async (...args: string[]) => JSON.parse((await run(awsCli(), args, { env: awsEnv(cloud.url) })).stdout || '{}');
const awsFails = (...args: string[]) =>
  run(awsCli(), args, { env: awsEnv(cloud.url) }).then(
    () => '',
    (err: { stderr: string }) => err.stderr,
  );

describe('Application Auto Scaling operations', () => {
  it('registers, describes and deregisters a variant target with AWS shapes, state kept 0600', async () => {
    const { ScalableTargetARN } = await aas.send(
      new RegisterScalableTargetCommand({ ServiceNamespace: 'sagemaker', ResourceId: RESOURCE, ScalableDimension: DIMENSION, MinCapacity: 1, MaxCapacity: 2 }),
    );
    expect(ScalableTargetARN).toMatch(/^arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target\/\w+$/);
    const { ScalableTargets } = await aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'sagemaker', ResourceIds: [RESOURCE] }));
    expect(ScalableTargets).toEqual([
      expect.objectContaining({
        ServiceNamespace: 'sagemaker',
        ResourceId: RESOURCE,
        ScalableDimension: DIMENSION,
        MinCapacity: 1,
        MaxCapacity: 2,
        CreationTime: expect.any(Date),
      }),
    ]);
    expect(statSync(join(stateDir, 'autoscaling.json')).mode & 0o777).toBe(0o600);
    const cli = await aws('application-autoscaling', 'describe-scalable-targets', '--service-namespace', 'sagemaker');
    expect(cli.ScalableTargets.map((t: { ResourceId: string }) => t.ResourceId)).toEqual([RESOURCE]);
  });

  it("refuses what AWS refuses, with AWS's codes", async () => {
    const register = (input: object) =>
      aas.send(new RegisterScalableTargetCommand({ ServiceNamespace: 'sagemaker', ResourceId: RESOURCE, ScalableDimension: DIMENSION, ...input }));
    await expect(register({ ScalableDimension: 'sagemaker:inference-component:DesiredCopyCount', MinCapacity: 0, MaxCapacity: 1 })).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'Unsupported service namespace, resource type or scalable dimension',
    });
    await expect(register({ MinCapacity: 0, MaxCapacity: 1 })).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('at least 1'),
    });
    await expect(register({ MinCapacity: 3, MaxCapacity: 2 })).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(register({ ResourceId: 'endpoint/nope/variant/AllTraffic', MinCapacity: 1, MaxCapacity: 2 })).rejects.toMatchObject({
      name: 'ValidationException',
    });
    await expect(
      aas.send(
        new DeregisterScalableTargetCommand({
          ServiceNamespace: 'sagemaker',
          ResourceId: 'inference-component/none',
          ScalableDimension: 'sagemaker:inference-component:DesiredCopyCount',
        }),
      ),
    ).rejects.toMatchObject({ name: 'ObjectNotFoundException' });
    await expect(
      aas.send(
        new PutScalingPolicyCommand({
          PolicyName: 'p',
          ServiceNamespace: 'sagemaker',
          ResourceId: 'inference-component/none',
          ScalableDimension: 'sagemaker:inference-component:DesiredCopyCount',
          PolicyType: 'TargetTrackingScaling',
          TargetTrackingScalingPolicyConfiguration: {
            TargetValue: 1,
            PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerInferenceComponentInvocationsPerCopy' },
          },
        }),
      ),
    ).rejects.toMatchObject({ name: 'ObjectNotFoundException', message: expect.stringContaining('No scalable target registered') });
    await expect(
      aas.send(
        new PutScalingPolicyCommand({
          PolicyName: 'wrong-metric',
          ServiceNamespace: 'sagemaker',
          ResourceId: RESOURCE,
          ScalableDimension: DIMENSION,
          PolicyType: 'TargetTrackingScaling',
          TargetTrackingScalingPolicyConfiguration: {
            TargetValue: 1,
            PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerInferenceComponentInvocationsPerCopy' },
          },
        }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    expect(
      await awsFails(
        'application-autoscaling',
        'delete-scaling-policy',
        '--service-namespace',
        'sagemaker',
        '--resource-id',
        RESOURCE,
        '--scalable-dimension',
        DIMENSION,
        '--policy-name',
        'none',
      ),
    ).toContain('ObjectNotFoundException');
    expect(await awsFails('application-autoscaling', 'describe-scalable-targets', '--service-namespace', 'sagemaker', '--max-results', '0')).toContain(
      'ValidationException',
    );
  });

  it('leaves other namespaces to moto', async () => {
    await aas.send(
      new RegisterScalableTargetCommand({
        ServiceNamespace: 'dynamodb',
        ResourceId: 'table/t',
        ScalableDimension: 'dynamodb:table:ReadCapacityUnits',
        MinCapacity: 1,
        MaxCapacity: 5,
      }),
    );
    const { ScalableTargets } = await aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'dynamodb' }));
    expect(ScalableTargets?.map((t) => t.ResourceId)).toEqual(['table/t']);
    const ours = await aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'sagemaker' }));
    expect(ours.ScalableTargets?.map((t) => t.ResourceId)).toEqual([RESOURCE]);
  });

  it('target tracking creates its alarms in CloudWatch and deletes them with the policy', async () => {
    const { PolicyARN, Alarms } = await aas.send(
      new PutScalingPolicyCommand({
        PolicyName: 'temporary',
        ServiceNamespace: 'sagemaker',
        ResourceId: RESOURCE,
        ScalableDimension: DIMENSION,
        PolicyType: 'TargetTrackingScaling',
        TargetTrackingScalingPolicyConfiguration: {
          TargetValue: 100,
          PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
        },
      }),
    );
    expect(PolicyARN).toMatch(
      new RegExp(`^arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:[0-9a-f-]{36}:resource/sagemaker/${RESOURCE}:policyName/temporary$`),
    );
    const names = Alarms!.map((a) => a.AlarmName!);
    expect(names).toEqual([
      expect.stringMatching(/^TargetTracking-endpoint\/scaled-ep\/variant\/AllTraffic-AlarmHigh-[0-9a-f-]{36}$/),
      expect.stringMatching(/-AlarmLow-/),
    ]);
    const described = await aws('cloudwatch', 'describe-alarms', '--alarm-names', ...names);
    expect(described.MetricAlarms).toEqual([
      expect.objectContaining({
        MetricName: 'InvocationsPerInstance',
        Namespace: 'AWS/SageMaker',
        Threshold: 100,
        EvaluationPeriods: 3,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: [PolicyARN],
      }),
      expect.objectContaining({ Threshold: 90, EvaluationPeriods: 15, ComparisonOperator: 'LessThanThreshold' }),
    ]);
    const { ScalingPolicies } = await aas.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: 'sagemaker', ResourceId: RESOURCE }));
    expect(ScalingPolicies).toEqual([expect.objectContaining({ PolicyName: 'temporary', PolicyType: 'TargetTrackingScaling', Alarms })]);
    await aas.send(
      new DeleteScalingPolicyCommand({ PolicyName: 'temporary', ServiceNamespace: 'sagemaker', ResourceId: RESOURCE, ScalableDimension: DIMENSION }),
    );
    const after = await cw.send(new DescribeAlarmsCommand({ AlarmNames: names }));
    expect(after.MetricAlarms).toEqual([]);
  });

  it('UpdateEndpointWeightsAndCapacities refuses an unknown variant', async () => {
    await expect(
      sm.send(
        new UpdateEndpointWeightsAndCapacitiesCommand({
          EndpointName: ENDPOINT,
          DesiredWeightsAndCapacities: [{ VariantName: 'Other', DesiredInstanceCount: 2 }],
        }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringContaining('"[Other]" is/are not present') });
  });
});

describe('scaling a real endpoint', () => {
  it('scales the variant out when invocations per instance pass the target (a second instance really starts), and back in when idle', async () => {
    await aas.send(
      new PutScalingPolicyCommand({
        PolicyName: 'invocations',
        ServiceNamespace: 'sagemaker',
        ResourceId: RESOURCE,
        ScalableDimension: DIMENSION,
        PolicyType: 'TargetTrackingScaling',
        TargetTrackingScalingPolicyConfiguration: {
          TargetValue: 5,
          PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
          ScaleInCooldown: 60,
          ScaleOutCooldown: 60,
        },
      }),
    );
    const launchesBefore = pool.fleets.length;
    // Synthetic load: 8 invocations per instance in each of the last (time-scaled) minutes.
    const now = Math.floor(Date.now() / 1000) * 1000;
    await cw.send(
      new PutMetricDataCommand({
        Namespace: 'AWS/SageMaker',
        MetricData: Array.from({ length: 6 }, (_, i) => ({
          MetricName: 'InvocationsPerInstance',
          Dimensions: [
            { Name: 'EndpointName', Value: ENDPOINT },
            { Name: 'VariantName', Value: 'AllTraffic' },
          ],
          Timestamp: new Date(now - (i + 1) * 1000),
          Value: 8,
        })),
      }),
    );
    type Activity = { StatusCode?: string; Description?: string; Cause?: string; StatusMessage?: string };
    const settled = async (description: string) => {
      let found: Activity | undefined;
      await waitUntil(
        `the activity "${description}" to finish`,
        async () => {
          const { ScalingActivities = [] } = await aas.send(new DescribeScalingActivitiesCommand({ ServiceNamespace: 'sagemaker', ResourceId: RESOURCE }));
          found = ScalingActivities.find((a) => a.Description === description);
          return found?.StatusCode === 'Successful' || found?.StatusCode === 'Failed';
        },
        { timeoutMs: 90_000, intervalMs: 500 },
      );
      return found;
    };
    expect(await settled('Setting desired instance count to 2.')).toMatchObject({
      StatusCode: 'Successful',
      Cause: expect.stringMatching(
        /^monitor alarm TargetTracking-endpoint\/scaled-ep\/variant\/AllTraffic-AlarmHigh-.* in state ALARM triggered policy invocations$/,
      ),
      StatusMessage: 'Successfully set desired instance count to 2. Change successfully fulfilled by sagemaker.',
    });
    // The synthetic load stops: the endpoint's own metrics say 0 invocations, so after 15 low
    // (time-scaled) minutes and the cooldowns the low alarm scales it back in to MinCapacity.
    expect(await settled('Setting desired instance count to 1.')).toMatchObject({
      StatusCode: 'Successful',
      Cause: expect.stringMatching(/-AlarmLow-.* in state ALARM triggered policy invocations$/),
    });
    const { ProductionVariants } = await sm.send(new DescribeEndpointCommand({ EndpointName: ENDPOINT }));
    expect(ProductionVariants?.[0]).toMatchObject({ CurrentInstanceCount: 1, DesiredInstanceCount: 1 });
    // Each change started a fleet of the new size: two instances, then one.
    expect(pool.fleets.slice(launchesBefore).map((f) => f.fleet.variants[0].instances.length)).toEqual([2, 1]);
    const cli = await aws('application-autoscaling', 'describe-scaling-activities', '--service-namespace', 'sagemaker');
    expect(cli.ScalingActivities.map((a: { Description: string }) => a.Description)).toEqual([
      'Setting desired instance count to 1.',
      'Setting desired instance count to 2.',
    ]);
  }, 120_000);

  it('deregistering the target removes its policies and their alarms', async () => {
    const { ScalingPolicies = [] } = await aas.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: 'sagemaker', ResourceId: RESOURCE }));
    const alarms = ScalingPolicies.flatMap((p) => p.Alarms ?? []).map((a) => a.AlarmName!);
    expect(alarms).toHaveLength(2);
    await aas.send(new DeregisterScalableTargetCommand({ ServiceNamespace: 'sagemaker', ResourceId: RESOURCE, ScalableDimension: DIMENSION }));
    expect((await aas.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: 'sagemaker' }))).ScalingPolicies).toEqual([]);
    expect((await cw.send(new DescribeAlarmsCommand({ AlarmNames: alarms }))).MetricAlarms).toEqual([]);
  });
});
