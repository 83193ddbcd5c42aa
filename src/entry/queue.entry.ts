import type { TraceOrigin } from '../context/active-trace.js';
import type { QueueJobRecord } from '../trace.types.js';
import type { EntryPoint } from './entry-point.js';
import { withParent } from './handler-origin.js';
import { processorQueue } from './nest-metadata.accessor.js';

/** The fields of a BullMQ `Job` the report reads (a local type: `bullmq` stays an optional peer). */
interface JobLike {
  queueName?: unknown;
  name?: unknown;
  id?: unknown;
  attemptsMade?: unknown;
  timestamp?: unknown;
  processedOn?: unknown;
  data?: unknown;
}

const numberOr = (value: unknown, fallback: number): number =>
  typeof value === 'number' && Number.isFinite(value) ? value : fallback;

/** The `queue` section of a job's report; `queueName` is the `@Processor` queue when the job does not say. */
export function queueJob(job: JobLike, queueName: string | undefined): QueueJobRecord {
  const created = numberOr(job.timestamp, Number.NaN);
  // BullMQ sets `processedOn` when it moves the job to active, just before calling `process`.
  const started = numberOr(job.processedOn, Date.now());
  return {
    name: typeof job.queueName === 'string' ? job.queueName : (queueName ?? ''),
    jobName: typeof job.name === 'string' ? job.name : '',
    jobId: typeof job.id === 'string' || typeof job.id === 'number' ? String(job.id) : '',
    // `attemptsMade` counts the attempts that already ended (failed): this one is the next.
    attempt: numberOr(job.attemptsMade, 0) + 1,
    waitMs: Number.isNaN(created) ? 0 : Math.max(0, started - created),
  };
}

/** Trace origin of a BullMQ job (its `data` may carry the producer's W3C `traceparent`, see outgoing-context.ts). */
export function queueOrigin(type: { name: string }, method: string, job: unknown, queueName?: string): TraceOrigin {
  const parts: JobLike = job !== null && typeof job === 'object' ? job : {};
  const queue = queueJob(parts, queueName);
  const data = parts.data;
  const traceparent =
    data !== null && typeof data === 'object' ? (data as { traceparent?: unknown }).traceparent : undefined;
  return withParent(
    { transport: 'queue', handlerClass: type, handlerName: method, route: `${queue.name}:${queue.jobName}`, queue },
    traceparent,
  );
}

/**
 * The `queue` transport: `process(job)` of the `@Processor()` classes of `@nestjs/bullmq` (`WorkerHost`). Each job
 * opens a trace of its own, `route` `queue:jobName`, with the job in `queue`. `@nestjs/bullmq` binds `process` when
 * it registers the worker (`onModuleInit`), after the explorer wrapped it; the worker gets the same result and error,
 * so a failing job still fails, and is retried, in BullMQ.
 */
export function queueEntryPoint(): EntryPoint {
  return {
    transport: 'queue',
    classes: 'providers',
    accepts: (type) => processorQueue(type) !== undefined,
    rootFor: ({ type, name }, sink) => {
      if (name !== 'process') return undefined;
      const queueName = processorQueue(type);
      return {
        sink,
        name: `${type.name}.${name}`,
        insideTrace: 'root',
        origin: (args): TraceOrigin => queueOrigin(type, name, args[0], queueName),
      };
    },
  };
}
