import { Inject, Injectable } from '@nestjs/common';
import type { OnModuleInit } from '@nestjs/common';
import { ModuleRef, ModulesContainer } from '@nestjs/core';
import type { ResolvedTraceOptions } from '../resolve-options.js';
import { MESSAGES } from '../trace.messages.js';
import { TRACE_OPTIONS } from '../trace.tokens.js';
import type { RedisLike } from './ioredis.types.js';
import type { DataSourceLike } from './typeorm.types.js';

/** Token of the default connection of `@nestjs-modules/ioredis` (`getRedisConnectionToken()`). */
const NESTJS_IOREDIS_DEFAULT_TOKEN = 'default_IORedisModuleConnectionToken';

type OptionName = 'dataSource' | 'redis';

/**
 * The app's own TypeORM `DataSource` and ioredis client, found once at bootstrap through DI — never opened by the
 * library. Both the metrics probes and the SQL / Redis span instrumentation read them from here.
 *
 * Resolution (options `dataSource` / `redis`): `false` → none; a DI token → that provider, and a bootstrap error naming
 * the option when it is missing or is not a DataSource / ioredis client; not given → auto-detect the default TypeORM
 * DataSource (whose DI token is TypeORM's `DataSource` class, found without importing `typeorm`) and the
 * `@nestjs-modules/ioredis` default connection.
 *
 * `dataSource` and `redis` are filled in `onModuleInit` (all providers exist by then); `resolve()` does the same
 * thing and may be called earlier by another provider's `onModuleInit` — it runs once.
 */
@Injectable()
export class AppConnections implements OnModuleInit {
  private found:
    { dataSource: DataSourceLike | null; dataSources: readonly DataSourceLike[]; redis: RedisLike | null } | undefined;

  constructor(
    @Inject(TRACE_OPTIONS) private readonly options: ResolvedTraceOptions,
    private readonly moduleRef: ModuleRef,
    private readonly modules: ModulesContainer,
  ) {}

  /** The app's TypeORM DataSource (any driver), or `null` when there is none or `dataSource: false`. */
  get dataSource(): DataSourceLike | null {
    return this.found?.dataSource ?? null;
  }

  /**
   * Every TypeORM DataSource in the app's DI container, `dataSource` first (none with `dataSource: false`): an app
   * with a MySQL and a PostgreSQL DataSource side by side has both recorded, and each kind's metrics read from the
   * first of its kind here (see `SystemMetricsService`).
   */
  get dataSources(): readonly DataSourceLike[] {
    return this.found?.dataSources ?? [];
  }

  /** The app's ioredis client, or `null` when there is none or `redis: false`. */
  get redis(): RedisLike | null {
    return this.found?.redis ?? null;
  }

  onModuleInit(): void {
    this.resolve();
  }

  /** Finds both connections; idempotent. Throws (at bootstrap) when an explicit token is missing or of the wrong kind. */
  resolve(): void {
    if (this.found) return;
    const dataSource = this.lookUp(
      'dataSource',
      this.options.dataSource,
      isDataSourceLike,
      'a TypeORM DataSource',
      () => this.defaultDataSourceToken(),
    );
    this.found = {
      dataSource,
      dataSources: this.options.dataSource === false ? [] : this.allDataSources(dataSource),
      redis: this.lookUp(
        'redis',
        this.options.redis,
        isRedisLike,
        'an ioredis client',
        () => NESTJS_IOREDIS_DEFAULT_TOKEN,
      ),
    };
  }

  private lookUp<T>(
    name: OptionName,
    option: unknown,
    isKind: (value: unknown) => value is T,
    kind: string,
    autoToken: () => unknown,
  ): T | null {
    if (option === false) return null;
    if (option === undefined) {
      const token = autoToken();
      if (token === undefined) return null;
      const value = this.get(token);
      return isKind(value) ? value : null;
    }
    const value = this.get(option);
    if (value === undefined) throw new Error(MESSAGES.tokenNotFound(name, option));
    if (!isKind(value)) throw new Error(MESSAGES.tokenWrongKind(name, option, kind));
    return value;
  }

  private get(token: unknown): unknown {
    try {
      return this.moduleRef.get(token as string, { strict: false });
    } catch {
      // ModuleRef throws UnknownElementException for an absent provider; absence is an answer here, not a failure.
      return undefined;
    }
  }

  /** `first`, then every other DataSource instance among the app's providers (named `@nestjs/typeorm` ones too). */
  private allDataSources(first: DataSourceLike | null): DataSourceLike[] {
    const all = new Set<DataSourceLike>(first ? [first] : []);
    for (const module of this.modules.values()) {
      for (const wrapper of module.providers.values()) {
        const instance: unknown = wrapper.instance;
        if (isDataSourceLike(instance)) all.add(instance);
      }
    }
    return [...all];
  }

  /**
   * `@nestjs/typeorm` registers the default DataSource under TypeORM's `DataSource` class itself (named ones under
   * strings): find that class among the app's provider tokens instead of importing `typeorm`.
   */
  private defaultDataSourceToken(): unknown {
    for (const module of this.modules.values()) {
      for (const [token, wrapper] of module.providers) {
        if (typeof token === 'function' && token.name === 'DataSource' && isDataSourceLike(wrapper.instance))
          return token;
      }
    }
    return undefined;
  }
}

function isDataSourceLike(value: unknown): value is DataSourceLike {
  if (value === null || typeof value !== 'object') return false;
  const candidate = value as { options?: { type?: unknown }; driver?: unknown };
  return typeof candidate.options?.type === 'string' && 'driver' in candidate;
}

function isRedisLike(value: unknown): value is RedisLike {
  if (value === null || typeof value !== 'object') return false;
  const candidate = value as Partial<Record<keyof RedisLike, unknown>>;
  return (
    typeof candidate.status === 'string' &&
    typeof candidate.duplicate === 'function' &&
    typeof candidate.on === 'function'
  );
}
