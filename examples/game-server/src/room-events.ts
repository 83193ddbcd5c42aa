import { Inject, Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import type { RoomView } from './game.service.js';
import { ROOM_STORE } from './room-store.js';
import type { RoomStore } from './room-store.js';

/**
 * Reacts to `room.created` (emitted by `GameService.createRoom`). `{ async: true }`: it runs after the creator got
 * the answer, so nestjs-trace reports it as a trace of its own (transport `event`), not as part of `createRoom`.
 */
@Injectable()
export class RoomEvents {
  constructor(@Inject(ROOM_STORE) private readonly store: RoomStore) {}

  @OnEvent('room.created', { async: true })
  async announce(room: RoomView): Promise<void> {
    if (room.players > 0) await this.store.count('announcements');
  }
}
