import { Inject, Injectable } from '@nestjs/common';
import type { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { installOnce } from '../instrumentation/install-once.util.js';
import type { Uninstall } from '../instrumentation/install-once.util.js';
import { hasMethod, wrapMethod } from '../instrumentation/wrap-method.util.js';
import type { ResolvedTraceOptions } from '../resolve-options.js';
import { TRACE_OPTIONS } from '../trace.tokens.js';
import { withTraceparent } from './traceparent-payload.js';

type Send = (this: unknown, pattern: unknown, data: unknown, ...rest: unknown[]) => unknown;
type Add = (this: unknown, name: unknown, data: unknown, ...rest: unknown[]) => unknown;
type AddBulk = (this: unknown, jobs: unknown, ...rest: unknown[]) => unknown;

/** A `ClientProxy` of `@nestjs/microservices` (structural: the package stays optional). */
function isClientProxy(value: unknown): value is Record<'send' | 'emit', Send> {
  return (
    hasMethod(value, 'send') &&
    hasMethod(value, 'emit') &&
    hasMethod(value, 'connect') &&
    hasMethod(value, 'close') &&
    hasMethod(value, 'createObserver')
  );
}

/** A `Queue` of `bullmq` (structural: the package stays optional). */
function isBullQueue(value: unknown): value is { add: Add; addBulk: AddBulk } {
  return (
    hasMethod(value, 'add') &&
    hasMethod(value, 'addBulk') &&
    hasMethod(value, 'getJob') &&
    typeof (value as { name?: unknown }).name === 'string'
  );
}

// One installation per client or queue, however many apps (or test modules) share it.
const installed = new WeakMap<object, unknown>();

function propagateFromClient(client: Record<'send' | 'emit', Send>): Uninstall {
  return installOnce(installed, client, () => {
    let active = true;
    const wrap = (original: Send): Send =>
      function (this: unknown, pattern: unknown, data: unknown, ...rest: unknown[]): unknown {
        return original.call(this, pattern, active ? withTraceparent(data) : data, ...rest);
      };
    const undo = [wrapMethod<Send>(client, 'send', wrap), wrapMethod<Send>(client, 'emit', wrap)];
    return () => {
      active = false;
      for (const restore of undo) restore();
    };
  });
}

function withJobTraceparent(job: unknown): unknown {
  if (job === null || typeof job !== 'object') return job;
  const data = (job as { data?: unknown }).data;
  const carried = withTraceparent(data);
  return carried === data ? job : { ...job, data: carried };
}

function propagateFromQueue(queue: { add: Add; addBulk: AddBulk }): Uninstall {
  return installOnce(installed, queue, () => {
    let active = true;
    const undo = [
      wrapMethod<Add>(
        queue,
        'add',
        (original) =>
          function (this: unknown, name: unknown, data: unknown, ...rest: unknown[]): unknown {
            return original.call(this, name, active ? withTraceparent(data) : data, ...rest);
          },
      ),
      wrapMethod<AddBulk>(
        queue,
        'addBulk',
        (original) =>
          function (this: unknown, jobs: unknown, ...rest: unknown[]): unknown {
            const carried = active && Array.isArray(jobs) ? jobs.map(withJobTraceparent) : jobs;
            return original.call(this, carried, ...rest);
          },
      ),
    ];
    return () => {
      active = false;
      for (const restore of undo) restore();
    };
  });
}

/**
 * Outgoing trace context: inside a trace, the app's own `ClientProxy`s (`send`, `emit`) and BullMQ `Queue`s (`add`,
 * `addBulk`) put the W3C `traceparent` of the running span into the payload they send (see `withTraceparent`), so
 * the consumer's report carries the producer's trace id. Only instances the app has as providers (`ClientsModule`,
 * `BullModule.registerQueue`, a factory of its own) are found, at start-up through DI — nothing is required, so an
 * app without those packages is untouched; each instance is restored on module destroy. Option `propagate: false`:
 * nothing is wrapped, so payloads leave exactly as the app built them (strict consumers reject unknown fields).
 */
@Injectable()
export class OutgoingContextService implements OnModuleInit, OnModuleDestroy {
  private readonly uninstalls: Uninstall[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    @Inject(TRACE_OPTIONS) private readonly options: ResolvedTraceOptions,
  ) {}

  onModuleInit(): void {
    if (!this.options.propagate) return;
    const seen = new Set<unknown>();
    for (const wrapper of this.discovery.getProviders()) {
      // Request-scoped and transient providers have no one instance to wrap.
      if (!wrapper.isDependencyTreeStatic() || wrapper.isTransient) continue;
      const instance: unknown = wrapper.instance;
      if (seen.has(instance)) continue;
      seen.add(instance);
      if (isClientProxy(instance)) this.uninstalls.push(propagateFromClient(instance));
      else if (isBullQueue(instance)) this.uninstalls.push(propagateFromQueue(instance));
    }
  }

  onModuleDestroy(): void {
    for (const uninstall of this.uninstalls.splice(0)) uninstall();
  }
}
