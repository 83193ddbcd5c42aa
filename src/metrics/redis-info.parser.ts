/**
 * The text of an `INFO` reply, whatever shape the client returned it in: a RESP2 bulk string (string or Buffer), or a
 * RESP3 verbatim string — raw with its `txt:` format prefix, or as an object holding the text (`value` / `string` /
 * `text`). `undefined` when the reply is none of these.
 */
export function redisInfoText(reply: unknown): string | undefined {
  let text: string | undefined;
  if (typeof reply === 'string') text = reply;
  else if (Buffer.isBuffer(reply)) text = reply.toString('utf8');
  else if (reply !== null && typeof reply === 'object') {
    const holder = reply as { value?: unknown; string?: unknown; text?: unknown };
    const inner = holder.value ?? holder.string ?? holder.text;
    return inner === undefined || inner === reply ? undefined : redisInfoText(inner);
  }
  if (text === undefined) return undefined;
  // A RESP3 verbatim string starts with its three-letter format and a colon.
  return text.startsWith('txt:') || text.startsWith('mkd:') ? text.slice(4) : text;
}

/**
 * Parses an `INFO` reply into `field → value` (every section; `# Section` headers and blank lines skipped).
 * Callers pick the fields they need: the reply also holds things never to be reported (`executable`, `config_file`).
 */
export function parseRedisInfo(reply: unknown): Map<string, string> | undefined {
  const text = redisInfoText(reply);
  if (text === undefined) return undefined;
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return fields;
}
