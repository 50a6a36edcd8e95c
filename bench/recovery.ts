// Crash-recovery figures: the control worker (a separate process) is SIGKILLed at each step of
// a deploy and of a teardown on the local cloud, and restarted at once. Prints, per step, how
// long the workflow stood still after the kill (until an activity ran again on the new worker,
// or the step or run ended) and how much of that was the new worker process starting up; the
// rest is Temporal noticing the lost worker (start-to-close / heartbeat / sticky-queue timeouts).
// Asserts nothing: test/chaos/deploy-teardown.test.ts checks the outcomes.
import type { DeployEndpointInput } from '../common/endpoint-input.js';
import { CONTROL_TASK_QUEUE } from '../common/task-queues.js';
import { readExample } from '../dev/tools.js';
import { DEPLOY_STEPS, killAtEachStep, startChaosStack, TEARDOWN_STEPS, type StepRecovery } from '../test/chaos/worker-chaos.js';

process.env.LLMOPS_LOG_LEVEL ??= 'warn';
const stack = await startChaosStack();
const rows: Array<StepRecovery & { workflow: string }> = [];
try {
  const example = readExample<DeployEndpointInput>('deploy-local.json');
  const input = { ...example, endpointName: 'recovery', timeouts: { inServiceMinutes: 5, pollIntervalSeconds: 0.5 } };
  let worker = await stack.startWorker();
  const deploy = await stack.env.client.workflow.start('deployEndpoint', { taskQueue: CONTROL_TASK_QUEUE, workflowId: 'deploy-recovery', args: [input] });
  const deployed = await killAtEachStep(stack, deploy, DEPLOY_STEPS, worker);
  await deploy.result();
  rows.push(...deployed.records.map((r) => ({ workflow: 'deploy', ...r })));
  worker = deployed.worker;
  const teardown = await stack.env.client.workflow.start('teardownEndpoint', {
    taskQueue: CONTROL_TASK_QUEUE,
    workflowId: 'teardown-recovery',
    args: [{ endpointName: 'recovery', timeouts: { pollIntervalSeconds: 0.5 } }],
  });
  const tornDown = await killAtEachStep(stack, teardown, TEARDOWN_STEPS, worker);
  await teardown.result();
  rows.push(...tornDown.records.map((r) => ({ workflow: 'teardown', ...r })));
  await tornDown.worker.stop('SIGKILL');
} finally {
  await stack.stop();
}
const s = (ms?: number) => (ms === undefined ? '-' : (ms / 1000).toFixed(1));
console.log('workflow  step                      recovery s  worker boot s  Temporal s');
for (const r of rows) {
  const temporal = r.recoveryMs === undefined || r.workerBootMs === undefined ? undefined : Math.max(0, r.recoveryMs - r.workerBootMs);
  console.log(
    `${r.workflow.padEnd(9)} ${r.step.padEnd(25)} ${(r.missed ? 'missed' : s(r.recoveryMs)).padStart(10)} ${s(r.workerBootMs).padStart(14)} ${s(temporal).padStart(11)}`,
  );
}
process.exit(0);
