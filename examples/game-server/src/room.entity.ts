import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** A game room. The table name is unique to the example so it can share a database (`synchronize` creates it). */
@Entity({ name: 'example_room' })
export class Room {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'varchar', length: 64 })
  name!: string;

  /** Socket id of the player who created the room; only the host may kick. */
  @Column({ type: 'varchar', length: 64 })
  hostId!: string;

  @Column({ type: 'int' })
  capacity!: number;

  @CreateDateColumn()
  createdAt!: Date;
}
