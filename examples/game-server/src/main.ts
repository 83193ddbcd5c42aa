import { configFromEnv, DEFAULT_BLOCK_PATH_MS } from './config.js';
import { startGameServer } from './server.js';

let config: ReturnType<typeof configFromEnv>;
let url: string;
try {
  config = configFromEnv();
  // JSON mode keeps stdout for report lines (`npm run example | jq`): Nest's own logs are cut to errors.
  ({ url } = await startGameServer(config, { nestLogs: config.format === 'text' }));
} catch (error) {
  process.stderr.write(`\n  example game server: ${(error as Error).message}\n\n`);
  process.exit(1);
}
const loadUrl = url === 'http://127.0.0.1:3000' ? '' : ` --url ${url}`;
const load = loadUrl === '' ? '' : ` --${loadUrl}`;
const hidePassword = (u: string): string => u.replace(/\/\/[^@/]*@/, '//***@');

const lines = [
  '',
  `  nestjs-trace example game server on ${url}`,
  config.postgresUrl
    ? `  SQL: PostgreSQL at ${hidePassword(config.postgresUrl)}`
    : config.mysqlUrl
      ? `  SQL: MySQL at ${hidePassword(config.mysqlUrl)}`
      : '  SQL: SQLite in memory (embedded default; set MYSQL_URL=mysql://… or DATABASE_URL=postgres://…)',
  config.redisUrl
    ? `  Rooms: Redis at ${hidePassword(config.redisUrl)}; match results: BullMQ queue "match-results"`
    : '  Rooms: in-process store (embedded default; set REDIS_URL=redis://host:6379 for Redis and a BullMQ queue)',
  `  Reports: handlers slower than ${config.slowThresholdMs} ms or failing, ${
    config.format === 'json'
      ? 'as JSON lines, all on stdout'
      : "as text through Nest's logger: SLOW and HUNG on stdout, ERROR on stderr (2>&1 for one stream; TRACE_FORMAT=json for JSON lines on stdout)"
  }`,
  '',
  '  Drive it:',
  `    npm run example:load${load}                             20 Socket.IO clients for 10 s`,
  `    npm run example:load -- --clients 50 --seconds 30${loadUrl}   50 clients for 30 s`,
  `    curl ${url}/rooms    rooms and counters over HTTP`,
  `    Socket.IO namespace ${url}/game:  createRoom {name}  joinRoom {roomId}  leaveRoom {roomId}  kick {roomId, playerId}  chat {roomId, text}  finishMatch {roomId, winner}`,
  `    Slow path: a room name starting with "slow". Failing path: joining a full room (${config.roomCapacity} players).`,
  `    Blocking path: a room name starting with "huge" (the event loop stops for ${config.blockPathMs ?? DEFAULT_BLOCK_PATH_MS} ms: a BLOCKED report).`,
  config.admin
    ? `  Admin UI: ${url}/admin-ui/  (server URL ${url}, namespace /admin, your ADMIN_USER / ADMIN_PASSWORD)`
    : '  Admin UI: off (set ADMIN_USER and ADMIN_PASSWORD to turn on the Socket.IO admin UI)',
  config.metrics === false
    ? '  Metrics: off (METRICS=off; unset it for Prometheus histograms on /metrics)'
    : `  Metrics: ${url}/metrics (Prometheus text; METRICS=off turns it off)`,
  '',
];
process.stderr.write(lines.join('\n') + '\n');
