import { jobRoute } from '../../../src/entry/cron.entry.js';
import { eventName } from '../../../src/entry/event.entry.js';
import { queueJob } from '../../../src/entry/queue.entry.js';

describe('routes of background work', () => {
  it.each([
    [{ kind: 'cron', name: 'cleanup', cronTime: '0 * * * * *' }, 'cleanup'],
    [{ kind: 'cron', name: undefined, cronTime: '0 * * * * *' }, '0 * * * * *'],
    [{ kind: 'cron', name: '', cronTime: new Date('2026-12-01T00:00:00.000Z') }, '2026-12-01T00:00:00.000Z'],
    [{ kind: 'interval', name: undefined, ms: 50 }, 'every 50 ms'],
    [{ kind: 'timeout', name: undefined, ms: 2000 }, 'after 2000 ms'],
    [{ kind: 'interval', name: 'game-tick', ms: 50 }, 'game-tick'],
  ] as const)('job %j → %s', (job, route) => {
    expect(jobRoute(job)).toBe(route);
  });

  it('names events: strings as declared, eventemitter2 namespace arrays joined with dots, symbols by description', () => {
    expect(eventName('room.*')).toBe('room.*');
    expect(eventName(['room', 'created'])).toBe('room.created');
    expect(eventName(Symbol('tick'))).toBe('tick');
  });

  it('reads a BullMQ job: attempt counts from 1, waitMs from creation to processing', () => {
    expect(
      queueJob(
        { queueName: 'matches', name: 'settle', id: '7', attemptsMade: 2, timestamp: 1000, processedOn: 1250 },
        'ignored',
      ),
    ).toEqual({ name: 'matches', jobName: 'settle', jobId: '7', attempt: 3, waitMs: 250 });
    expect(queueJob({}, 'matches')).toEqual({ name: 'matches', jobName: '', jobId: '', attempt: 1, waitMs: 0 });
  });
});
