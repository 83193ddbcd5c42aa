// Loaded only when REDIS_URL is set (see AppModule.register): the embedded default never loads @nestjs/bullmq or bullmq.
import type { DynamicModule, Provider } from '@nestjs/common';
import { BullModule, getQueueToken, Processor, WorkerHost } from '@nestjs/bullmq';
import type { Job } from 'bullmq';
import { MATCH_QUEUE, MATCH_QUEUE_NAME, MatchResults } from './match-results.js';
import type { MatchResult } from './match-results.js';

/**
 * The BullMQ worker of the match-results queue. nestjs-trace finds `@Processor` classes by itself: each job is a trace
 * of its own (transport `queue`, route `match-results:settle`) with `queue: { name, jobName, jobId, attempt, waitMs }`,
 * and it carries the trace id of the `finishMatch` message that added it.
 */
@Processor(MATCH_QUEUE_NAME)
export class MatchResultsProcessor extends WorkerHost {
  constructor(private readonly results: MatchResults) {
    super();
  }

  async process(job: Job<MatchResult>): Promise<void> {
    await this.results.settle(job.data);
  }
}

/** The queue, its worker and the `MATCH_QUEUE` alias `GameService` injects. */
export function matchQueue(redisUrl: string, prefix: string): { imports: DynamicModule[]; providers: Provider[] } {
  return {
    imports: [
      BullModule.forRoot({ connection: { url: redisUrl }, prefix }),
      BullModule.registerQueue({
        name: MATCH_QUEUE_NAME,
        // Finished jobs are kept for an hour at most: the example shares the Redis it is given.
        defaultJobOptions: { removeOnComplete: { age: 3600 }, removeOnFail: { age: 3600 } },
      }),
    ],
    providers: [MatchResultsProcessor, { provide: MATCH_QUEUE, useExisting: getQueueToken(MATCH_QUEUE_NAME) }],
  };
}
