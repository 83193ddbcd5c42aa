import { Controller, Get, NotFoundException, Param, ParseIntPipe } from '@nestjs/common';
import { GameService } from './game.service.js';
import type { RoomView } from './game.service.js';

/** `GET /rooms`: the latest rooms with their player counts; `GET /rooms/:id`: one room. */
@Controller('rooms')
export class RoomsController {
  constructor(private readonly game: GameService) {}

  @Get()
  list(): Promise<{ rooms: RoomView[]; counters: Record<string, number> }> {
    return this.game.listRooms();
  }

  /** The same list, loaded the N+1 way (see `RoomRepository.findEachById`): its report carries an `n+1` finding. */
  @Get('one-by-one')
  listOneByOne(): Promise<RoomView[]> {
    return this.game.listRoomsOneByOne();
  }

  @Get(':id')
  async get(@Param('id', ParseIntPipe) id: number): Promise<RoomView> {
    const room = await this.game.getRoom(id);
    if (!room) throw new NotFoundException(`Room ${id} does not exist`);
    return room;
  }
}
