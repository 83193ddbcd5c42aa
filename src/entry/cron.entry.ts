import type { TraceOrigin } from '../context/active-trace.js';
import type { EntryPoint } from './entry-point.js';
import { scheduledJob } from './nest-metadata.accessor.js';
import type { ScheduledJob } from './nest-metadata.accessor.js';

/** Route of a job: its name, else the cron expression (a `Date` as ISO text), `every N ms` or `after N ms`. */
export function jobRoute(job: ScheduledJob): string {
  if (job.name !== undefined && job.name !== '') return job.name;
  if (job.kind === 'interval') return `every ${job.ms} ms`;
  if (job.kind === 'timeout') return `after ${job.ms} ms`;
  const time = job.cronTime;
  if (time instanceof Date) return time.toISOString();
  return typeof time === 'string' ? time : String(time);
}

/**
 * The `cron` transport: `@Cron`, `@Interval` and `@Timeout` methods of `@nestjs/schedule`. Each run opens a trace of
 * its own, even when something calls the method inside another trace: two runs never share a trace. `ScheduleModule`
 * reads the method from the instance in its `onModuleInit`, after the explorer put the wrapper on the prototype, and
 * wraps it in its own try/catch: it sees the same result and error as without tracing.
 */
export function cronEntryPoint(): EntryPoint {
  return {
    transport: 'cron',
    classes: 'both',
    accepts: () => true,
    rootFor: ({ type, name, fn }, sink) => {
      const job = scheduledJob(fn);
      if (job === undefined) return undefined;
      const route = jobRoute(job);
      const intervalMs = job.kind === 'interval' && job.ms > 0 ? job.ms : undefined;
      return {
        sink,
        name: `${type.name}.${name}`,
        insideTrace: 'root',
        origin: (): TraceOrigin => ({ transport: 'cron', handlerClass: type, handlerName: name, route, intervalMs }),
      };
    },
  };
}
