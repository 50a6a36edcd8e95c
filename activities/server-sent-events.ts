// Server-sent events, as TGI streams tokens and as our HTTP service streams answers: blocks
// separated by a blank line, `event:` naming the block, `data:` lines carrying its payload.
// Chunks arrive split anywhere (inside a line, inside a multi-byte character), so the parser
// buffers until a block is complete.

export interface ServerSentEvent {
  /** The `event:` field; undefined for unnamed events (TGI's). */
  event?: string;
  /** The `data:` lines, joined by newlines. */
  data: string;
}

export class ServerSentEventParser {
  private readonly decoder = new TextDecoder();
  private buffer = '';

  /** Feeds bytes or text; returns the events this completes. */
  push(chunk: Uint8Array | string): ServerSentEvent[] {
    this.buffer += typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    const events: ServerSentEvent[] = [];
    let end: number;
    while ((end = this.buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end).replace(/^\r?\n\r?\n/, '');
      const event = parseBlock(block);
      if (event) events.push(event);
    }
    return events;
  }

  /** The last block, when the stream ended without a blank line after it. */
  end(): ServerSentEvent[] {
    const event = parseBlock(this.buffer);
    this.buffer = '';
    return event ? [event] : [];
  }
}

function parseBlock(block: string): ServerSentEvent | undefined {
  let event: string | undefined;
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  return data.length || event ? { event, data: data.join('\n') } : undefined;
}

/** Every event of a complete body. */
export function parseServerSentEvents(text: string): ServerSentEvent[] {
  const parser = new ServerSentEventParser();
  return [...parser.push(text), ...parser.end()];
}

/** Events as a streamed body delivers them. */
export async function* readServerSentEvents(body: AsyncIterable<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const parser = new ServerSentEventParser();
  for await (const chunk of body) yield* parser.push(chunk);
  yield* parser.end();
}
