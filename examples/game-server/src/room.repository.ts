import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Trace } from '../../../src/index.js';
import { Room } from './room.entity.js';

/** Rooms in SQL (MySQL, or SQLite in memory). Traced: each call is a span, its SQL statements below it. */
@Trace()
@Injectable()
export class RoomRepository {
  constructor(@InjectRepository(Room) private readonly rooms: Repository<Room>) {}

  create(name: string, hostId: string, capacity: number): Promise<Room> {
    return this.rooms.save(this.rooms.create({ name, hostId, capacity }));
  }

  findById(id: number): Promise<Room | null> {
    return this.rooms.findOneBy({ id });
  }

  /**
   * The N+1 way, on purpose (`GET /rooms/one-by-one`): one `SELECT … WHERE id = ?` per room, one after another. The
   * report shows an `n+1` finding for it (`findBy({ id: In(ids) })` would be one statement).
   */
  async findEachById(ids: readonly number[]): Promise<Room[]> {
    const rooms: Room[] = [];
    for (const id of ids) {
      const room = await this.rooms.findOneBy({ id });
      if (room) rooms.push(room);
    }
    return rooms;
  }

  latest(limit: number): Promise<Room[]> {
    return this.rooms.find({ order: { id: 'DESC' }, take: limit });
  }
}
