// Reads server-sent events the way TGI clients do: `data:` lines, events split by a blank line.
export function parseSse(text: string): unknown[] {
  return text
    .split('\n\n')
    .map((block) =>
      block
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice('data:'.length).trimStart())
        .join('\n'),
    )
    .filter(Boolean)
    .map((data) => JSON.parse(data));
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
