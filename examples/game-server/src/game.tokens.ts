/** DI token of the example's `GameServerConfig`. */
export const GAME_CONFIG = 'GAME:CONFIG';
