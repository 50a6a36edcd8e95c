// The request and response formats of each container format an endpoint can speak, and the
// stream parsers (TGI's events, the OpenAI chunks ending `data: [DONE]`, LMI's JSON lines).
import { describe, expect, it } from 'vitest';
import { containerFormatOf } from '../../common/container-format.js';
import { type ContainerFormat, generationRequestBody, generationStreamParser, parseGenerationResponse } from '../../activities/generation.js';

const bytes = (s: string) => new TextEncoder().encode(s);

/** Feeds `text` to the format's parser in pieces of `size` bytes, as payload parts may split it anywhere. */
function parseStream(format: ContainerFormat, text: string, size = 7) {
  const parser = generationStreamParser(format);
  const raw = bytes(text);
  const tokens: string[] = [];
  for (let i = 0; i < raw.length; i += size) tokens.push(...parser.push(raw.slice(i, i + size)));
  tokens.push(...parser.end());
  return { tokens, generatedText: parser.generatedText };
}

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

  it('vLLM completions: OpenAI fields, greedy as temperature 0, vLLM extensions kept', () => {
    expect(JSON.parse(generationRequestBody('vllm-completions', 'Hi', { max_new_tokens: 8, repetition_penalty: 1.1, stop: ['\n'] }, { stream: true }))).toEqual(
      {
        prompt: 'Hi',
        max_tokens: 8,
        temperature: 0,
        repetition_penalty: 1.1,
        stop: ['\n'],
        stream: true,
      },
    );
  });

  it('chat formats send messages (a string as one user message); TGI Messages gets no vLLM-only fields', () => {
    const messages = [
      { role: 'system' as const, content: 'Answer from the context.' },
      { role: 'user' as const, content: 'Q?' },
    ];
    expect(JSON.parse(generationRequestBody('vllm-chat', messages, { max_new_tokens: 4, temperature: 0.5, top_k: 5 }))).toEqual({
      messages,
      max_tokens: 4,
      temperature: 0.5,
      top_k: 5,
    });
    expect(JSON.parse(generationRequestBody('tgi-messages', 'Hi', { max_new_tokens: 4, top_k: 5, repetition_penalty: 1.2 }))).toEqual({
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 4,
      temperature: 0,
    });
    expect(() => generationRequestBody('tgi', messages)).toThrow(/format tgi takes a prompt string/);
  });

  it("parses each format's whole response, and refuses anything else", () => {
    expect(parseGenerationResponse('tgi', '[{"generated_text":"a"}]')).toBe('a');
    expect(parseGenerationResponse('lmi', '{"generated_text":"b"}')).toBe('b');
    expect(() => parseGenerationResponse('tgi', '{"outputs":["c"]}')).toThrow(/Unexpected TGI\/LMI response/);
    expect(parseGenerationResponse('vllm-completions', '{"object":"text_completion","choices":[{"index":0,"text":"d"}]}')).toBe('d');
    expect(parseGenerationResponse('vllm-chat', '{"choices":[{"message":{"role":"assistant","content":"e"}}]}')).toBe('e');
    expect(parseGenerationResponse('lmi-chat', '{"choices":[{"message":{"role":"assistant","content":"f"}}]}')).toBe('f');
    expect(() => parseGenerationResponse('vllm-chat', '{"choices":[{"text":"g"}]}')).toThrow(/Unexpected vllm-chat response/);
  });

  it('TGI events: tokens and generated_text, special tokens skipped, a trailing data:[DONE] accepted', () => {
    const stream =
      'data:{"index":1,"token":{"id":1,"text":"Hel","special":false},"generated_text":null}\n\n' +
      'data:{"index":2,"token":{"id":2,"text":"lo","special":false},"generated_text":null}\n\n' +
      'data:{"index":3,"token":{"id":3,"text":"</s>","special":true},"generated_text":"Hello"}\n\n' +
      'data:[DONE]\n\n';
    expect(parseStream('tgi', stream)).toEqual({ tokens: ['Hel', 'lo'], generatedText: 'Hello' });
  });

  it('OpenAI chunks (vLLM chat, TGI Messages): delta contents until data: [DONE]', () => {
    const chunk = (delta: object, finish: string | null = null) =>
      `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    const stream =
      chunk({ role: 'assistant', content: '' }) + chunk({ content: 'Hé' }) + chunk({ content: 'llo' }) + chunk({ content: '' }, 'stop') + 'data: [DONE]\n\n';
    expect(parseStream('vllm-chat', stream, 3).tokens).toEqual(['Hé', 'llo']);
    expect(parseStream('tgi-messages', stream.replaceAll('data: ', 'data:')).tokens).toEqual(['Hé', 'llo']);
  });

  it('vLLM completion chunks: choices[0].text; an error object mid-stream fails with its message', () => {
    const stream =
      'data: {"object":"text_completion","choices":[{"index":0,"text":"a"}]}\n\ndata: {"object":"text_completion","choices":[{"index":0,"text":"b"}]}\n\ndata: [DONE]\n\n';
    expect(parseStream('vllm-completions', stream).tokens).toEqual(['a', 'b']);
    expect(() => parseStream('vllm-completions', 'data: {"error":{"message":"boom","code":500}}\n\n')).toThrow(/Model stream error: boom/);
  });

  it("LMI's JSON lines: token texts (a token without text adds nothing), the last line's generated_text; chat chunks too", () => {
    const lines =
      '{"token":{"id":1,"text":"Hel","log_prob":-0.1}}\n{"token":{"id":2,"text":"lo","log_prob":-0.2}}\n{"token":{"id":3,"log_prob":-0.3,"special_token":true},"generated_text":"Hello"}\n';
    expect(parseStream('lmi', lines, 5)).toEqual({ tokens: ['Hel', 'lo'], generatedText: 'Hello' });
    // The last line need not end with a newline.
    expect(parseStream('lmi', lines.trimEnd()).generatedText).toBe('Hello');
    const chat =
      '{"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hi","role":"assistant"},"finish_reason":null}]}\n{"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"!"},"finish_reason":"length"}]}\n';
    expect(parseStream('lmi-chat', chat).tokens).toEqual(['Hi', '!']);
    expect(() => parseStream('lmi', '{"error":"bad input","code":424}\n')).toThrow(/Model stream error: bad input/);
  });

  it('the format follows the deploy input, else the image family', () => {
    expect(containerFormatOf({ image: '763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:2.4' })).toBe('tgi');
    expect(containerFormatOf({ image: '763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-vllm-inference:0.8' })).toBe('vllm-completions');
    expect(containerFormatOf({ image: 'vllm/vllm-openai:v0.10.1' })).toBe('vllm-completions');
    expect(containerFormatOf({ image: '763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.29.0-lmi11.0.0-cu124' })).toBe('lmi');
    expect(containerFormatOf({ image: 'vllm/vllm-openai:v0.10.1', format: 'vllm-chat' })).toBe('vllm-chat');
    expect(containerFormatOf({ image: 'my-own-server:latest' })).toBe('tgi');
  });
});
