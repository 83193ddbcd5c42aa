// No argument values, passwords, tokens, cookies or Authorization headers in any report (text or JSON).
import 'reflect-metadata';
import { Body, Controller, Injectable, Module, Post, UnauthorizedException } from '@nestjs/common';
import type { INestApplication, LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { Trace, TraceContext, TraceModule } from '../../src/index.js';
import { ReportCapture, sleep } from '../support/report-capture.js';

/** Reports reach the test through the library's output seam (`stream`), never through stdout. */
const capture = new ReportCapture();

const SECRETS = {
  email: 'alice.s3cr3t@example.com',
  password: 'hunter2-s3cr3t-password',
  token: 'tok_s3cr3t_9f8e7d',
  cardNumber: '4111111111111111',
  bearer: 'Bearer eyJs3cr3t.jwt.value',
  cookie: 'session=s3cr3t-cookie-value',
};

interface Credentials {
  email: string;
  password: string;
  token: string;
  cardNumber: string;
}

@Trace()
@Injectable()
class AuthService {
  async login(credentials: Credentials): Promise<never> {
    await this.check(credentials.password);
    throw new UnauthorizedException('bad credentials');
  }
  async check(_password: string): Promise<void> {
    await sleep(1);
  }
}

@Controller('auth')
class AuthController {
  constructor(private readonly auth: AuthService) {}
  @Post('login')
  login(@Body() body: Credentials): Promise<never> {
    TraceContext.current()?.addLog('login attempt');
    return this.auth.login(body);
  }
}

class TextSink implements LoggerService {
  readonly lines: string[] = [];
  log(message: unknown): void {
    this.lines.push(String(message));
  }
  warn(message: unknown): void {
    this.lines.push(String(message));
  }
  error(message: unknown): void {
    this.lines.push(String(message));
  }
}

describe('secrets never reach a report', () => {
  const text = new TextSink();
  const apps: INestApplication[] = [];

  beforeAll(async () => {
    for (const format of ['json', 'text'] as const) {
      @Module({
        imports: [
          TraceModule.forRoot({
            stream: capture,
            format,
            logger: text,
            slowThresholdMs: 0,
            hungThresholdMs: 0,
            otel: { enabled: false },
          }),
        ],
        controllers: [AuthController],
        providers: [AuthService],
      })
      class SecurityModule {}
      const app = (await Test.createTestingModule({ imports: [SecurityModule] }).compile()).createNestApplication({
        logger: false,
      });
      await app.init();
      apps.push(app);
    }
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
  });

  it('a failing login with credentials, Authorization and Cookie headers leaves none of them in JSON or text reports', async () => {
    for (const app of apps) {
      await request(app.getHttpServer())
        .post('/auth/login')
        .set('Authorization', SECRETS.bearer)
        .set('Cookie', SECRETS.cookie)
        .send({
          email: SECRETS.email,
          password: SECRETS.password,
          token: SECRETS.token,
          cardNumber: SECRETS.cardNumber,
        })
        .expect(401);
    }
    const [json] = await capture.waitFor((r) => r.outcome === 'error' && r.route === 'POST /auth/login');
    // Wait for the trace's own report: a blocked-loop report may come first on a loaded machine.
    for (let i = 0; i < 100 && !text.lines.some((line) => line.includes('AuthService')); i++) await sleep(20);
    expect(text.lines.length).toBeGreaterThanOrEqual(1);
    // The reports are there and say what failed …
    expect(json!.spans.map((s) => s.name)).toEqual(['AuthController.login', 'AuthService.login', 'AuthService.check']);
    expect(json!.error?.message).toBe('bad credentials');
    expect(text.lines.join('\n')).toContain('AuthService.check');
    // … and carry none of the values.
    const everything = capture.rawLines.join('') + text.lines.join('\n');
    for (const secret of Object.values(SECRETS)) {
      expect(everything).not.toContain(secret);
    }
    expect(everything).not.toMatch(/s3cr3t/);
  });
});
