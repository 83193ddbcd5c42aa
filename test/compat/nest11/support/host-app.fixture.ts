// The repros of "the tracer changed what the app sees" (issue 13), as a small app: a service handing out Subjects, a
// mailer that handles its own promise, traced enhancers (interceptor, guard, pipe, filter), a caching interceptor that
// never calls the handler and a host-constrained controller. Imports nothing but Nest, rxjs and the
// library (one line). A copy of test/e2e/fixtures/host-app.fixture.ts with only that line changed: run.sh type-checks
// these specs as a CommonJS consumer (module node16), which cannot import the repo's ESM fixtures.
import {
  Catch,
  Controller,
  Get,
  HttpException,
  Injectable,
  Param,
  UseFilters,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import type {
  ArgumentsHost,
  CallHandler,
  CanActivate,
  ExceptionFilter,
  ExecutionContext,
  NestInterceptor,
  PipeTransform,
} from '@nestjs/common';
import { BehaviorSubject, Observable, ReplaySubject, Subject, of, tap } from 'rxjs';
import { Trace, TraceContext } from 'nestjs-trace';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

@Trace()
@Injectable()
export class ChannelService {
  private readonly channel$ = new Subject<string>();
  private readonly state$ = new BehaviorSubject<number>(1);
  private readonly history$ = new ReplaySubject<string>(2);
  readonly heard: string[] = [];

  constructor() {
    this.channel$.subscribe((message) => this.heard.push(message));
  }
  channel(): Subject<string> {
    return this.channel$;
  }
  state(): BehaviorSubject<number> {
    return this.state$;
  }
  history(): ReplaySubject<string> {
    return this.history$;
  }
}

@Trace()
@Injectable()
export class MailerService {
  readonly failures: string[] = [];
  /** Handles its own failure and hands the promise back: callers may or may not await it. */
  send(to: string): Promise<void> {
    const sending = this.deliver(to);
    sending.catch((error: Error) => this.failures.push(error.message));
    return sending;
  }
  async deliver(to: string): Promise<void> {
    await sleep(5);
    throw new Error(`smtp refused ${to}`);
  }
}

@Trace()
@Injectable()
export class OrderService {
  async load(id: string): Promise<{ id: string; traceId: string | undefined }> {
    await sleep(2);
    return { id, traceId: TraceContext.current()?.traceId };
  }
}

@Trace()
@Injectable()
export class TimingInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(tap(() => undefined));
  }
}

/** Answers from its "cache" without calling the handler (a slow cache lookup). */
@Trace()
@Injectable()
export class CacheHitInterceptor implements NestInterceptor {
  async intercept(): Promise<Observable<unknown>> {
    await sleep(20);
    return of({ cached: true });
  }
}

@Trace()
@Injectable()
export class AllowGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

@Trace()
@Injectable()
export class UpperPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    return value.toUpperCase();
  }
}

@Trace()
@Catch(HttpException)
export class PassThroughFilter implements ExceptionFilter {
  catch(exception: HttpException, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<{
      status?: (code: number) => { json?: (body: unknown) => void; send?: (body: unknown) => void };
      code?: (code: number) => { send: (body: unknown) => void };
    }>();
    const body = { filtered: true, status: exception.getStatus() };
    // Express `res.status().json()`, Fastify `reply.code().send()`.
    if (typeof response.code === 'function') response.code(exception.getStatus()).send(body);
    else response.status?.(exception.getStatus()).json?.(body);
  }
}

@Controller()
export class HostAppController {
  constructor(
    private readonly channels: ChannelService,
    private readonly mailer: MailerService,
    private readonly orders: OrderService,
  ) {}

  @Get('channel')
  channel(): { heard: string[]; state: number; history: string[] } {
    this.channels.channel().next('hello');
    const state = this.channels.state();
    state.next(state.value + 1);
    this.channels.history().next('h');
    const history: string[] = [];
    this.channels
      .history()
      .subscribe((item) => history.push(item))
      .unsubscribe();
    return { heard: this.channels.heard, state: state.value, history };
  }

  @Get('mail')
  mail(): { queued: true } {
    // Not awaited on purpose: the mailer handles its own failure.
    void this.mailer.send('ops@example.com');
    return { queued: true };
  }

  @Get('intercepted/:id')
  @UseInterceptors(TimingInterceptor)
  @UseGuards(AllowGuard)
  async intercepted(@Param('id', UpperPipe) id: string): Promise<{ id: string; traceId: string | undefined }> {
    return this.orders.load(id);
  }

  @Get('intercepted-failure')
  @UseInterceptors(TimingInterceptor)
  @UseFilters(PassThroughFilter)
  async interceptedFailure(): Promise<never> {
    await this.orders.load('x');
    throw new HttpException('teapot', 418);
  }

  @Get('cached')
  @UseInterceptors(CacheHitInterceptor)
  cached(): { cached: false } {
    return { cached: false };
  }
}

@Controller({ host: ':tenant.example.com', path: 'tenant' })
export class TenantController {
  @Get()
  home(): { tenant: true } {
    return { tenant: true };
  }
}

export const hostAppProviders = [
  ChannelService,
  MailerService,
  OrderService,
  TimingInterceptor,
  CacheHitInterceptor,
  AllowGuard,
  UpperPipe,
];
