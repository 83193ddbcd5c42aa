import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoggerService } from '@nestjs/common';
import { io } from 'socket.io-client';
import request from 'supertest';
import { startGameServer } from '../../examples/game-server/src/server.js';
import type { RunningGameServer } from '../../examples/game-server/src/server.js';
import { freePort } from '../support/free-port.js';

// Debian's `prometheus` package (.ci/run installs it when missing). Without it this block is skipped, and says why.
const binary = spawnSync('prometheus', ['--version'], { encoding: 'utf8' });
const prometheusFound = binary.status === 0;
const describeWithPrometheus = prometheusFound ? describe : describe.skip;
if (!prometheusFound) {
  process.stderr.write(
    '[prometheus-server.e2e-spec] skipped: no `prometheus` binary on PATH (Debian package `prometheus`; .ci/run installs it)\n',
  );
}

class QuietLogger implements LoggerService {
  log(): void {}
  warn(): void {}
  error(): void {}
}

interface QueryResult {
  status: string;
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

describeWithPrometheus('a real Prometheus server scraping the example game server /metrics', () => {
  let server: RunningGameServer;
  let prometheus: ChildProcess | undefined;
  let prometheusUrl: string;
  let dir: string;
  let prometheusLog = '';

  beforeAll(async () => {
    server = await startGameServer(
      {
        port: 0,
        host: '127.0.0.1',
        format: 'text',
        slowThresholdMs: 100,
        slowPathMs: 150,
        roomCapacity: 2,
        logger: new QuietLogger(),
      },
      { nestLogs: false },
    );
    dir = mkdtempSync(join(tmpdir(), 'nestjs-trace-prometheus-'));
    const target = new URL(server.url).host;
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        'scrape_configs:',
        '  - job_name: game-server',
        '    metrics_path: /metrics',
        `    static_configs: [{ targets: ['${target}'] }]`,
        '',
      ].join('\n'),
    );
    const port = await freePort();
    prometheusUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    prometheus.stderr?.on('data', (chunk: Buffer) => {
      prometheusLog += chunk.toString('utf8');
    });
  });

  afterAll(async () => {
    if (prometheus?.pid !== undefined && prometheus.exitCode === null) {
      const exited = new Promise((resolve) => prometheus?.once('exit', resolve));
      prometheus.kill('SIGTERM');
      await exited;
    }
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function query(promql: string): Promise<QueryResult['data']['result']> {
    const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(promql)}`, {
      signal: AbortSignal.timeout(2000),
    });
    const body = (await response.json()) as QueryResult;
    return body.data.result;
  }

  /** Polls Prometheus until the query returns a series whose value passes `accept` (scrapes are 1 s apart). */
  async function until(promql: string, accept: (value: number) => boolean): Promise<Record<string, string>> {
    const deadline = Date.now() + 30_000;
    let last: string;
    for (;;) {
      try {
        const result = await query(promql);
        const hit = result.find((series) => accept(Number(series.value[1])));
        if (hit) return hit.metric;
        last = JSON.stringify(result);
      } catch (error) {
        last = String(error); // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`${promql}: ${last}\nprometheus said: ${prometheusLog}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  it('has the handler histogram by transport, handler and outcome', async () => {
    for (let i = 0; i < 5; i++) await request(server.url).get('/rooms').expect(200);
    await request(server.url).get('/rooms/999999').expect(404);
    const socket = io(`${server.url}/game`, { transports: ['websocket'], reconnection: false, timeout: 5000 });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      });
      // A room name starting with "slow" takes the example's slow path (150 ms, over the 100 ms threshold).
      await socket.timeout(5000).emitWithAck('createRoom', { name: 'slow-room' });
    } finally {
      socket.close();
    }

    // Summed over outcomes: on a loaded machine one of the five may pass the example's 100 ms threshold (slow).
    const http = await until(
      'sum by (job, transport, handler) (nestjs_trace_handler_duration_seconds_count{transport="http",handler="RoomsController.list"})',
      (value) => value >= 5,
    );
    expect(http).toEqual({ job: 'game-server', transport: 'http', handler: 'RoomsController.list' });
    const ws = await until(
      'sum by (transport, handler, outcome) (nestjs_trace_handler_duration_seconds_count{transport="ws",outcome="slow"})',
      (value) => value >= 1,
    );
    expect(ws).toEqual({ transport: 'ws', handler: 'GameGateway.createRoom', outcome: 'slow' });
    // Buckets are there too: a quantile over them answers.
    const p99 = await until(
      'histogram_quantile(0.99, sum by (le) (nestjs_trace_handler_duration_seconds_bucket{transport="ws",outcome="slow"}))',
      (value) => value >= 0.1,
    );
    expect(p99).toEqual({});
  }, 60_000);
});
