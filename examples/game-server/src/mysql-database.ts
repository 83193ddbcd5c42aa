import { createConnection } from 'mysql2/promise';

/**
 * Makes sure the database named in `MYSQL_URL` exists before TypeORM connects: a missing database would otherwise
 * show up as 30 s of TypeORM retries and an exit. Creates it when the user may (`CREATE DATABASE IF NOT EXISTS`);
 * otherwise fails at once with a message that says what to do.
 */
export async function ensureMysqlDatabase(mysqlUrl: string): Promise<void> {
  const url = new URL(mysqlUrl);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  const where = `${url.hostname}:${url.port || 3306}`;
  if (database === '') throw new Error(`MYSQL_URL names no database (mysql://user:pass@${where}/<database>)`);
  url.pathname = '/';
  let connection;
  try {
    connection = await createConnection({ uri: url.toString(), connectTimeout: 5000 });
  } catch (error) {
    throw new Error(
      `cannot reach MySQL at ${where} (${(error as Error).message}): start it, fix MYSQL_URL, or unset MYSQL_URL for the embedded SQLite`,
      { cause: error },
    );
  }
  try {
    await connection.query(`CREATE DATABASE IF NOT EXISTS \`${database.replaceAll('`', '``')}\``);
  } catch (error) {
    throw new Error(
      `MySQL database "${database}" does not exist and this user cannot create it (${(error as Error).message}): ` +
        `run CREATE DATABASE \`${database}\`; as an administrator, or point MYSQL_URL at an existing database`,
      { cause: error },
    );
  } finally {
    await connection.end();
  }
}
