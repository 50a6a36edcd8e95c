// The request and response formats of the two container families ragQuery can talk to.
import { describe, expect, it } from 'vitest';
import { generationRequestBody, parseGenerationResponse } from '../../activities/generation.js';

describe('generation formats', () => {
  it('TGI: asks for the continuation only, keeps the given parameters', () => {
    expect(JSON.parse(generationRequestBody('tgi', 'Hi', { max_new_tokens: 8, temperature: 0.7 }))).toEqual({
      inputs: 'Hi',
      parameters: { return_full_text: false, max_new_tokens: 8, temperature: 0.7 },
    });
  });

  it('LMI: no return_full_text (LMI has none), and sampling switched on when a temperature is given', () => {
    expect(JSON.parse(generationRequestBody('lmi', 'Hi', { max_new_tokens: 8, temperature: 0.7, return_full_text: false }))).toEqual({
      inputs: 'Hi',
      parameters: { do_sample: true, max_new_tokens: 8, temperature: 0.7 },
    });
    expect(JSON.parse(generationRequestBody('lmi', 'Hi', { max_new_tokens: 8 })).parameters.do_sample).toBe(false);
  });

  it("parses TGI's list and LMI's object, and refuses anything else", () => {
    expect(parseGenerationResponse('[{"generated_text":"a"}]')).toBe('a');
    expect(parseGenerationResponse('{"generated_text":"b"}')).toBe('b');
    expect(() => parseGenerationResponse('{"outputs":["c"]}')).toThrow(/Unexpected TGI\/LMI response/);
  });
});
