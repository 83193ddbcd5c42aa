// The "crash the process" repro of issue 13 as a Nest 11 CommonJS app, outside Jest (whose own handler would swallow
// an unhandled rejection); a CommonJS copy of test/e2e/fixtures/handled-promise-app.mjs. A traced mailer handles its
// own promise and returns it; the handler calls it without await. Usage: node handled-promise-app.js express|fastify
// Prints one JSON line { status, failures } and exits 0; an unhandled rejection would exit with code 1 first.
require('reflect-metadata');
const { Controller, Get, Injectable, Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { Trace, TraceModule } = require('nestjs-trace');

const platform = process.argv[2] ?? 'express';

class MailerService {
  failures = [];
  send(to) {
    const sending = this.deliver(to);
    sending.catch((error) => this.failures.push(error.message));
    return sending;
  }
  async deliver(to) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    throw new Error(`smtp refused ${to}`);
  }
}
Injectable()(MailerService);
Trace()(MailerService);

class MailController {
  constructor(mailer) {
    this.mailer = mailer;
  }
  mail() {
    void this.mailer.send('ops@example.com');
    return { queued: true };
  }
}
const descriptor = Object.getOwnPropertyDescriptor(MailController.prototype, 'mail');
Get('mail')(MailController.prototype, 'mail', descriptor);
Object.defineProperty(MailController.prototype, 'mail', descriptor);
Reflect.defineMetadata('design:paramtypes', [MailerService], MailController);
Controller()(MailController);

class AppModule {}
Module({
  imports: [TraceModule.forRoot({ slowThresholdMs: 0, logAll: true, format: 'json', hungThresholdMs: 0 })],
  controllers: [MailController],
  providers: [MailerService],
})(AppModule);

async function main() {
  const options = { logger: false };
  const app =
    platform === 'fastify'
      ? await NestFactory.create(AppModule, new (require('@nestjs/platform-fastify').FastifyAdapter)(), options)
      : await NestFactory.create(AppModule, options);
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const response = await fetch(`${url}/mail`);
  await response.text();
  await new Promise((resolve) => setTimeout(resolve, 100));
  const failures = app.get(MailerService).failures.length;
  await app.close();
  process.stdout.write(`${JSON.stringify({ status: response.status, failures })}\n`);
}
main();
