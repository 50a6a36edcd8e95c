// How the llmops CLI reports a failure: the exit code (documented in the README) and the cause
// chain with the innermost reason first, since that is where AWS's own message is (a
// "Workflow execution failed" with nothing under it says nothing).
import { WorkflowFailedError, isGrpcServiceError } from '@temporalio/client';
import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  CancelledFailure,
  TerminatedFailure,
  TimeoutFailure,
  WorkflowNotFoundError,
  NamespaceNotFoundError,
} from '@temporalio/common';
import { CommanderError } from 'commander';
import { InvalidInputError } from '../common/input-parsing.js';
import { TemporalConfigError } from '../common/temporal-connection.js';
import { NoWorkerError } from './task-queue-workers.js';
import { TemporalUnreachableError } from './temporal-client.js';

export const EXIT = {
  ok: 0,
  workflowFailed: 1,
  badInput: 2,
  unreachable: 3,
  noWorker: 4,
  /** Ctrl-C while following a run: detached, the run goes on. */
  detached: 130,
} as const;

/** Bad input the CLI itself found (an unreadable input file): exit 2. */
export class CliInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliInputError';
  }
}

export interface FailureLink {
  /** What failed at this level: "workflow deployEndpoint", "activity createEndpoint", "ValidationException". */
  what: string;
  message: string;
}

export interface FailureReport {
  exitCode: number;
  /** The innermost message: AWS's reason when AWS refused. */
  reason: string;
  /** From the innermost cause outwards. */
  chain: FailureLink[];
}

function describeLink(err: Error): FailureLink {
  if (err instanceof WorkflowFailedError) return { what: 'the workflow run', message: err.message };
  if (err instanceof ActivityFailure) return { what: `activity ${err.activityType}`, message: err.message };
  if (err instanceof ChildWorkflowFailure) return { what: `child workflow ${err.workflowType} ${err.execution.workflowId}`, message: err.message };
  if (err instanceof ApplicationFailure) return { what: err.type ?? 'ApplicationFailure', message: err.message };
  if (err instanceof TimeoutFailure) return { what: `timeout ${err.timeoutType}`, message: err.message };
  if (err instanceof CancelledFailure || err instanceof TerminatedFailure) return { what: err.name, message: err.message };
  return { what: err.name, message: err.message };
}

// Wrappers whose message says only that something below failed; their "what" still places it.
const WRAPPER_MESSAGE = /^(Activity task failed|Workflow execution failed|Child Workflow execution failed)$/;

/** The cause chain from the innermost cause outwards. */
export function failureChain(err: Error): FailureLink[] {
  const links: FailureLink[] = [];
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const link = describeLink(e);
    links.push(links.length && WRAPPER_MESSAGE.test(link.message) ? { ...link, message: '' } : link);
  }
  return links.reverse();
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EAI_AGAIN']);
const NETWORK_MESSAGE = new RegExp(`\\b(${[...NETWORK_CODES].join('|')})\\b`);
// gRPC UNAVAILABLE (14) and DEADLINE_EXCEEDED (4): Temporal stopped answering mid-command.
const UNREACHABLE_GRPC = new Set([14, 4]);

function exitCodeOf(err: unknown): number {
  if (err instanceof InvalidInputError || err instanceof TemporalConfigError || err instanceof CliInputError || err instanceof CommanderError)
    return EXIT.badInput;
  if (err instanceof WorkflowNotFoundError || err instanceof NamespaceNotFoundError) return EXIT.badInput;
  if (err instanceof TemporalUnreachableError) return EXIT.unreachable;
  if (err instanceof NoWorkerError) return EXIT.noWorker;
  if (err instanceof WorkflowFailedError) return EXIT.workflowFailed;
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    // An AWS SDK call that never got an answer (the local cloud or AWS is not there). Wrapped by
    // activities/aws-errors.ts into an ApplicationFailure, only the message keeps the code.
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return EXIT.unreachable;
    if (e instanceof ApplicationFailure && NETWORK_MESSAGE.test(e.message)) return EXIT.unreachable;
    if (isGrpcServiceError(e) && UNREACHABLE_GRPC.has(e.code)) return EXIT.unreachable;
  }
  return EXIT.workflowFailed;
}

export function reportFailure(err: unknown): FailureReport {
  const error = err instanceof Error ? err : new Error(String(err));
  const chain = failureChain(error);
  return { exitCode: exitCodeOf(error), reason: chain.find((l) => l.message)?.message ?? error.message, chain };
}

/** Human form: the reason first, then where it happened, outwards. */
export function formatFailure(report: FailureReport): string {
  const [first, ...rest] = report.chain;
  // An ApplicationFailure's type (ValidationException, DeployFailed) is worth its brackets; an Error class name is not.
  const lines = [`Error: ${report.reason}${first && !/Error$/.test(first.what) && !first.what.includes(' ') ? ` [${first.what}]` : ''}`];
  for (const link of rest) lines.push(`  in ${link.what}${link.message && link.message !== report.reason ? `: ${link.message}` : ''}`);
  return lines.join('\n');
}
