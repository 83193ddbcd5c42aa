import { Inject, Injectable } from '@nestjs/common';
import { Trace, TraceContext } from '../../../src/index.js';
import type { GameServerConfig } from './config.js';
import { GAME_CONFIG } from './game.tokens.js';
import { ROOM_STORE } from './room-store.js';
import type { RoomStore } from './room-store.js';

/** What `finishMatch` hands over to be settled. */
export interface MatchResult {
  roomId: number;
  roomName: string;
  winner: string;
}

/** Name of the BullMQ queue match results go through when `REDIS_URL` is set. */
export const MATCH_QUEUE_NAME = 'match-results';

/** DI token of the match-results queue; provided only when `REDIS_URL` is set. */
export const MATCH_QUEUE = 'GAME:MATCH_QUEUE';

/** The one call `GameService` makes on BullMQ's `Queue` (structural: the embedded default never loads bullmq). */
export interface MatchQueue {
  add(name: string, data: MatchResult): Promise<{ id?: string }>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Settles a finished match. With `REDIS_URL` it runs in the BullMQ worker (`MatchResultsProcessor`), a trace of its
 * own (transport `queue`) that carries the `finishMatch` trace id; without, inside `finishMatch` itself.
 */
@Trace()
@Injectable()
export class MatchResults {
  constructor(
    @Inject(ROOM_STORE) private readonly store: RoomStore,
    @Inject(GAME_CONFIG) private readonly config: GameServerConfig,
  ) {}

  async settle(result: MatchResult): Promise<void> {
    // Like the map of a "slow…" room, its leaderboard takes a while: a SLOW report for the job.
    if (result.roomName.startsWith('slow')) await this.updateLeaderboard(result);
    await this.store.count('matches');
  }

  async updateLeaderboard(result: MatchResult): Promise<void> {
    TraceContext.current()?.addLog(`ranking the players of "${result.roomName}"`);
    await sleep(this.config.slowPathMs);
  }
}
