// A rag worker process for the worker-loss test of rag-query.test.ts: the fake steps, and a
// generate that prints "generating" and never returns, so the test can SIGKILL it mid-query.
//   node --import tsx rag-query-hung-worker.ts <temporal address> <task queue>
import { NativeConnection, Worker } from '@temporalio/worker';
import { workflowsPath } from '../support/temporal.js';
import { fakeRag } from './fake-rag.js';

const [address, taskQueue] = process.argv.slice(2);
const worker = await Worker.create({
  connection: await NativeConnection.connect({ address }),
  taskQueue,
  workflowsPath,
  activities: fakeRag([], () => {
    console.log('generating');
    return new Promise(() => {});
  }),
});
await worker.run();
