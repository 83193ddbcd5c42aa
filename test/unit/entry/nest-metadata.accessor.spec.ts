import 'reflect-metadata';
import { INTERCEPTORS_METADATA, METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { PATTERN_METADATA } from '@nestjs/microservices/constants.js';
import {
  GATEWAY_METADATA,
  GATEWAY_SERVER_METADATA,
  MESSAGE_MAPPING_METADATA,
  MESSAGE_METADATA,
} from '@nestjs/websockets/constants.js';
import { Processor, WorkerHost } from '@nestjs/bullmq';
import { EVENT_LISTENER_METADATA, OnEvent } from '@nestjs/event-emitter';
import { Cron, Interval, Timeout } from '@nestjs/schedule';
import {
  eventListeners,
  NEST_METADATA,
  processorQueue,
  scheduledJob,
} from '../../../src/entry/nest-metadata.accessor.js';

// The accessor reads Nest's metadata by value so the websockets and microservices packages stay optional: each key
// is pinned here to the constant the installed Nest package exports, so a rename in Nest fails this test.
describe('Nest metadata keys', () => {
  it.each([
    ['path', PATH_METADATA],
    ['method', METHOD_METADATA],
    ['interceptors', INTERCEPTORS_METADATA],
    ['gateway', GATEWAY_METADATA],
    ['gatewayServer', GATEWAY_SERVER_METADATA],
    ['messageMapping', MESSAGE_MAPPING_METADATA],
    ['message', MESSAGE_METADATA],
    ['pattern', PATTERN_METADATA],
    ['eventListener', EVENT_LISTENER_METADATA],
  ] as const)('%s is the key Nest uses', (name, key) => {
    expect(NEST_METADATA[name]).toBe(key);
  });

  it('has no key the pins above do not cover', () => {
    expect(Object.keys(NEST_METADATA).sort()).toEqual(
      [
        'gateway',
        'gatewayServer',
        'interceptors',
        'message',
        'messageMapping',
        'method',
        'path',
        'pattern',
        'schedulerType',
        'schedulerName',
        'cronOptions',
        'intervalOptions',
        'timeoutOptions',
        'eventListener',
        'processor',
      ].sort(),
    );
  });
});

// @nestjs/schedule and @nestjs/bullmq do not export their metadata keys: these keys are pinned by what the real
// decorators write, read back through the accessor (a renamed key in those packages fails here).
describe('keys of @nestjs/schedule, @nestjs/event-emitter and @nestjs/bullmq, as their decorators write them', () => {
  class Jobs {
    @Cron('*/5 * * * * *', { name: 'cleanup' })
    cron(): void {}
    @Cron('0 0 * * * *')
    unnamedCron(): void {}
    @Interval('tick', 50)
    interval(): void {}
    @Timeout(20)
    timeout(): void {}
    @OnEvent('room.*', { async: true })
    @OnEvent('room.created')
    listener(): void {}
    plain(): void {}
  }

  @Processor('matches')
  class Matches extends WorkerHost {
    process(): Promise<void> {
      return Promise.resolve();
    }
  }

  it.each([
    ['cron', { kind: 'cron', name: 'cleanup', cronTime: '*/5 * * * * *' }],
    ['unnamedCron', { kind: 'cron', name: undefined, cronTime: '0 0 * * * *' }],
    ['interval', { kind: 'interval', name: 'tick', ms: 50 }],
    ['timeout', { kind: 'timeout', name: undefined, ms: 20 }],
    ['plain', undefined],
  ] as const)('reads the job of %s', (method, job) => {
    expect(scheduledJob(Jobs.prototype[method])).toEqual(job);
  });

  it('reads every @OnEvent of a method', () => {
    expect(eventListeners(Jobs.prototype.listener)?.map((listener) => listener.event)).toEqual([
      'room.created',
      'room.*',
    ]);
    expect(eventListeners(Jobs.prototype.plain)).toBeUndefined();
  });

  it('reads the queue of a @Processor class', () => {
    expect(processorQueue(Matches)).toBe('matches');
    expect(processorQueue(Jobs)).toBeUndefined();
  });
});
