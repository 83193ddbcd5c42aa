import { errorInfo, spanErrorMessage } from '../../../src/report/error-info.js';

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

describe('Redis reply errors', () => {
  it('masks quoted arguments', () => {
    const error = Object.assign(new Error("ERR unknown command 'FOO', with args beginning with: 's3cr3t'"), {
      name: 'ReplyError',
    });
    expect(spanErrorMessage(error)).toBe('ERR unknown command ?, with args beginning with: ?');
  });
});
