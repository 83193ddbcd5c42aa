// Jest global setup: creates what the suites need and may create, so `npm test` needs a running MySQL/MariaDB and
// Redis but no prepared database. The database named in MYSQL_URL (default `test`) is created when missing; when
// MySQL cannot be reached this says so once, up front, instead of in every suite that uses it.
import { URL } from 'node:url';
import { createConnection } from 'mysql2/promise';

export default async function globalSetup() {
  const url = new URL(process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test');
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (database === '') return;
  url.pathname = '/';
  let connection;
  try {
    connection = await createConnection({ uri: url.toString(), connectTimeout: 3000 });
  } catch (error) {
    process.stderr.write(
      `\n[jest setup] MySQL at ${url.host} is not reachable (${error.message}): the MySQL suites will fail; ` +
        `start MariaDB/MySQL or set MYSQL_URL (.ci/run starts it)\n`,
    );
    return;
  }
  try {
    await connection.query(`CREATE DATABASE IF NOT EXISTS \`${database.replaceAll('`', '``')}\``);
  } catch (error) {
    process.stderr.write(`\n[jest setup] could not create the MySQL database "${database}": ${error.message}\n`);
  } finally {
    await connection.end();
  }
}
