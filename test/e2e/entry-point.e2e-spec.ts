import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Trace, TraceContext, TraceModule } from '../../src/index.js';
import { TRACE_ENTRY_POINTS } from '../../src/trace.tokens.js';
import { ReportCapture, tree } from '../support/report-capture.js';
import { Job, jobEntryPoint } from './fixtures/job.entry.js';

const capture = new ReportCapture();

@Trace()
@Injectable()
class Rooms {
  sweep(): number {
    return 3;
  }
}

@Injectable()
class CleanupJobs {
  constructor(private readonly rooms: Rooms) {}

  @Job('nightly-cleanup')
  nightly(): Promise<string | undefined> {
    this.rooms.sweep();
    return Promise.resolve(TraceContext.current()?.traceId);
  }
}

@Module({
  imports: [TraceModule.forRoot({ stream: capture, format: 'json', logAll: true, hungThresholdMs: 0 })],
  providers: [Rooms, CleanupJobs],
})
class JobsModule {}

describe('a transport is one file behind EntryPoint (test/e2e/fixtures/job.entry.ts)', () => {
  it('roots each @Job call in a trace of its own, found at start-up through Nest discovery', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [JobsModule] })
      .overrideProvider(TRACE_ENTRY_POINTS)
      .useValue([jobEntryPoint()])
      .compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    try {
      // The "scheduler" calls the job the way it would: outside any trace.
      const traceId = await app.get(CleanupJobs).nightly();
      const [record] = await capture.waitFor((r) => r.handler === 'CleanupJobs.nightly');
      expect(record).toMatchObject({ transport: 'manual', route: 'nightly-cleanup', outcome: 'ok', traceId });
      expect(tree(record!)).toEqual(['CleanupJobs.nightly', '  Rooms.sweep']);
    } finally {
      await app.close();
    }
  });
});
