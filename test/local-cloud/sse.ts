// TGI's server-sent token events, as test helpers: the JSON payloads and the streamed text.
import { parseServerSentEvents } from '../../activities/server-sent-events.js';

/** The JSON payloads of a finished server-sent-events body. */
export function parseSse(text: string): unknown[] {
  return parseServerSentEvents(text).map(({ data }) => JSON.parse(data));
}

export interface TgiStreamEvent {
  index: number;
  token: { id: number; text: string; logprob: number; special: boolean };
  generated_text: string | null;
  details: { finish_reason: string; generated_tokens: number; seed: number | null; input_length: number } | null;
}

/** The text a streaming client shows: every non-special token's text, in order. */
export function streamedText(events: TgiStreamEvent[]): string {
  return events
    .filter((e) => !e.token.special)
    .map((e) => e.token.text)
    .join('');
}
