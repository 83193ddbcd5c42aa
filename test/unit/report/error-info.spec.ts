import 'reflect-metadata';
import { TraceContext } from '../../../src/context/trace-context.js';
import { errorInfo, spanErrorMessage } from '../../../src/report/error-info.js';
import { Trace } from '../../../src/decorators/trace.decorator.js';

describe('error info', () => {
  it('masks values in MySQL errors (mysql2 and TypeORM-wrapped)', () => {
    const driverError = Object.assign(new Error("Duplicate entry 's3cr3t' for key 'PRIMARY'"), {
      code: 'ER_DUP_ENTRY',
      sqlMessage: "Duplicate entry 's3cr3t' for key 'PRIMARY'",
      sql: "INSERT INTO t VALUES ('s3cr3t')",
    });
    const wrapped = Object.assign(new Error("Duplicate entry 's3cr3t' for key 'PRIMARY'"), {
      name: 'QueryFailedError',
      driverError,
    });
    for (const error of [driverError, wrapped]) {
      const info = errorInfo(error, 4000);
      expect(JSON.stringify(info)).not.toContain('s3cr3t');
      expect(info.message).toBe('ER_DUP_ENTRY: Duplicate entry ? for key ?');
      expect(spanErrorMessage(error)).not.toContain('s3cr3t');
    }
  });

  it('never throws on odd thrown values, and cuts stacks', () => {
    expect(spanErrorMessage(null)).toBe('null');
    expect(spanErrorMessage(undefined)).toBe('undefined');
    expect(spanErrorMessage('x')).toBe('"x"');
    const hostile = new Proxy(
      {},
      {
        get: () => {
          throw new Error('trap');
        },
        has: () => {
          throw new Error('trap');
        },
      },
    );
    expect(() => spanErrorMessage(hostile)).not.toThrow();
    expect(() => errorInfo(hostile, 100)).not.toThrow();
    const deep = new Error('deep');
    deep.stack = `Error: deep\n${Array.from({ length: 500 }, (_, i) => `    at f${i} (file.js:${i}:1)`).join('\n')}`;
    expect(errorInfo(deep, 300).stack!.length).toBeLessThanOrEqual(301);
    expect(errorInfo('text', 100)).toEqual({ name: 'string', message: '"text"' });
  });
});

describe('stack frames', () => {
  class Rooms {
    @Trace()
    join(): void {
      (undefined as unknown as { players: string[] }).players.push('x');
    }
  }

  it("removes the library's own frames (by file: its wrappers), keeps the user's", () => {
    let thrown: unknown;
    try {
      TraceContext.run('stack', () => new Rooms().join());
    } catch (error) {
      thrown = error;
    }
    const raw = (thrown as Error).stack!;
    expect(raw).toMatch(/\/src\/(context|decorators)\//);
    const stack = errorInfo(thrown, 4000).stack!;
    const lines = stack.split('\n');
    expect(lines[0]).toMatch(/^TypeError: Cannot read properties of undefined/);
    expect(lines[1]).toMatch(/^ {4}at Rooms\.join \(.*test\/unit\/report\/error-info\.spec\.ts:\d+:\d+\)$/);
    expect(stack).toContain('error-info.spec.ts');
    expect(stack).not.toMatch(/\/src\//);
    expect(stack).not.toMatch(/\b(traced|callInSpan|callWith|callOnFrame|callInNewFrame)\b/);
  });

  it("keeps a user's frame that only shares a name with a library wrapper", () => {
    const error = new Error('x');
    error.stack = 'Error: x\n    at traced (/app/dist/main.js:1:1)\n    at callInSpan (/app/dist/main.js:2:1)';
    expect(errorInfo(error, 4000).stack).toBe(
      'Error: x\n    at traced (/app/dist/main.js:1:1)\n    at callInSpan (/app/dist/main.js:2:1)',
    );
  });
});

describe('Redis reply errors', () => {
  it('masks quoted arguments', () => {
    const error = Object.assign(new Error("ERR unknown command 'FOO', with args beginning with: 's3cr3t'"), {
      name: 'ReplyError',
    });
    expect(spanErrorMessage(error)).toBe('ERR unknown command ?, with args beginning with: ?');
  });
});
