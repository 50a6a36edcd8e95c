// Token-aware chunking, measured with the real tokenizer: node-llama-cpp's WordPiece tokenizer
// of the converted all-MiniLM-L6-v2 GGUF (the tokenizer that embeds the chunks). Also checks that
// our offset-keeping WordPiece tokenizer agrees with it token for token, and cleanText.
import { getLlama, LlamaLogLevel, type LlamaModel } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkText, cleanText, MAX_CHUNK_TOKENS, type Chunk } from '../../activities/embeddings/chunker.js';
import { resolveGguf } from '../../activities/embeddings/model-files.js';
import { WordPieceTokenizer } from '../../activities/embeddings/tokenizer.js';

let model: LlamaModel;
const tokenizer = WordPieceTokenizer.forEmbeddingModel();

beforeAll(async () => {
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  model = await llama.loadModel({ modelPath: resolveGguf(), vocabOnly: true });
});

afterAll(async () => {
  await model?.dispose();
});

/** Tokens the embedding model sees for a text, without [CLS]/[SEP]. */
const realCount = (text: string) => model.tokenize(text, false).length;

const SENTENCES = [
  'SageMaker endpoints scale with Application Auto Scaling.',
  'A target-tracking policy keeps invocations per instance near the target value.',
  'When a deploy fails part-way, the workflow deletes what it created, in reverse order.',
  'Temporal records every step, so a worker restart resumes the workflow where it stopped!',
  'Is the endpoint InService yet?',
  'The café in Zürich serves crème brûlée — naïvely priced at €7.50; “quoted text” follows.',
  'Batch transform jobs read JSON lines from s3://bucket/prefix/input.jsonl and write results.',
  'Hybrid retrieval fuses dense (MiniLM, 384-d) and sparse (BM25) results with RRF, k=60.',
];

/** A document of paragraphs of sentences, deterministic. */
function corpus(paragraphs: number, seed = 1): string {
  let x = seed;
  const next = () => (x = (x * 1103515245 + 12345) % 2 ** 31);
  const paras: string[] = [];
  for (let p = 0; p < paragraphs; p++) {
    const n = 1 + (next() % 7);
    paras.push(Array.from({ length: n }, () => SENTENCES[next() % SENTENCES.length]).join(' '));
  }
  return paras.join('\n\n');
}

function checkInvariants(text: string, chunks: Chunk[], size: number, overlap: number): void {
  expect(chunks.length).toBeGreaterThan(0);
  for (const [i, c] of chunks.entries()) {
    expect(c.index).toBe(i);
    expect(c.text).toBe(text.slice(c.startChar, c.endChar));
    expect(c.text).toBe(c.text.trim());
    expect(c.tokenCount).toBe(realCount(c.text));
    expect(c.tokenCount).toBeLessThanOrEqual(size);
    expect(c.tokenCount).toBeGreaterThan(0);
    if (i > 0) {
      const prev = chunks[i - 1];
      expect(c.startChar).toBeGreaterThan(prev.startChar);
      expect(c.endChar).toBeGreaterThan(prev.endChar);
      if (c.startChar < prev.endChar) {
        // the shared text is at most `overlap` tokens
        expect(realCount(text.slice(c.startChar, prev.endChar))).toBeLessThanOrEqual(overlap);
      } else {
        // nothing but whitespace is left out between chunks
        expect(text.slice(prev.endChar, c.startChar).trim()).toBe('');
      }
    }
  }
  expect(text.slice(0, chunks[0].startChar).trim()).toBe('');
  expect(text.slice(chunks.at(-1)!.endChar).trim()).toBe('');
}

describe('WordPieceTokenizer', () => {
  it('gives the same token ids as node-llama-cpp on mixed text', () => {
    const texts = [
      ...SENTENCES,
      'Hello World! UPPER lower MiXeD',
      'Ελληνικά ΣΟΦΙΑ; Русский текст; العربية; עברית; हिन्दी; ไทย',
      '中文分词测试，日本語のテキスト、カタカナ。한국어 텍스트',
      'emoji 😀👍🏽 symbols € £ © ™ ± × → ∑ ≤ $100 + 5% = <tag> ^_^ ~`|',
      'code: const x = a.b(c)[0] || {k: "v"}; // comment\n\tif (x != null) { return x; }',
      'https://example.com/path?q=1&r=2#frag a.b@c.de 2024-01-05T10:00:00Z 3.14159 1,000,000',
      'zero\u200bwidth soft\u00adhyphen nbsp\u00a0space tab\tnew\nline\r\ncrlf \u0000nul \ufffdrep \u0007bell',
      'combining e\u0301 a\u0308 and é ä; Ǆ ß ẞ ﬁ ＡＢＣ ①②③ İstanbul',
      'a'.repeat(150) + ' ' + 'xq'.repeat(80),
      "don't won't it's — “quoted” ‘single’ «guillemets» …",
      '[CLS] [SEP] [MASK] [UNK] [PAD] <s> </s>',
      '',
      '   \n\t  ',
    ];
    for (const t of texts) expect(tokenizer.encode(t), JSON.stringify(t)).toEqual(Array.from(model.tokenize(t, false)));
  });

  it('keeps offsets that slice back to the source text', () => {
    const text = 'The Café’s déjà-vu: “Ångström” 😀 unaffable!';
    const { tokens, words } = tokenizer.analyze(text);
    expect(text.slice(tokens[0].start, tokens[0].end)).toBe('The');
    const cafe = tokens.find((t) => text.slice(t.start, t.end) === 'Café');
    expect(cafe).toBeDefined();
    for (const w of words) expect(text.slice(w.start, w.end).trim()).toBe(text.slice(w.start, w.end));
    // "unaffable" is split into word pieces whose offsets cover the word in order
    const pieces = tokens.filter((t) => t.word === words.findIndex((w) => text.slice(w.start, w.end) === 'unaffable'));
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.map((t) => text.slice(t.start, t.end)).join('')).toBe('unaffable');
    expect(tokenizer.encodeWithSpecials('hi')).toEqual([tokenizer.clsId, ...tokenizer.encode('hi'), tokenizer.sepId]);
  });
});

describe('chunkText', () => {
  it('keeps every chunk within the size measured by the real tokenizer, with bounded overlap', () => {
    const text = corpus(120);
    for (const [size, overlap] of [
      [256, 32],
      [128, 16],
      [64, 0],
      [40, 19],
      [MAX_CHUNK_TOKENS, 64],
    ]) {
      const chunks = chunkText(text, { chunkSize: size, overlap });
      checkInvariants(text, chunks, size, overlap);
    }
  });

  it('still advances every chunk when cuts may fall anywhere (minFill 0)', () => {
    const text = corpus(60, 4);
    for (const [size, overlap] of [
      [64, 24],
      [32, 15],
    ]) {
      checkInvariants(text, chunkText(text, { chunkSize: size, overlap, minFill: 0 }), size, overlap);
    }
  });

  it('uses 256 tokens with 32 overlap by default', () => {
    const text = corpus(200, 7);
    const chunks = chunkText(text);
    checkInvariants(text, chunks, 256, 32);
    const overlapping = chunks.slice(1).filter((c, i) => c.startChar < chunks[i].endChar).length;
    expect(overlapping).toBe(chunks.length - 1);
    // most chunks are well filled (cuts happen past half the window)
    const mean = chunks.reduce((a, c) => a + c.tokenCount, 0) / chunks.length;
    expect(mean).toBeGreaterThan(150);
  });

  it('cuts at paragraph and sentence ends, and overlaps start at sentence starts when they can', () => {
    const text = corpus(80, 3);
    const chunks = chunkText(text, { chunkSize: 128, overlap: 24 });
    for (const c of chunks.slice(0, -1)) expect(c.text, c.text.slice(-40)).toMatch(/[.!?]$/);
    const sentenceStarts = chunks.slice(1).filter((c) => /^[A-Z]/.test(c.text)).length;
    expect(sentenceStarts / (chunks.length - 1)).toBeGreaterThan(0.8);
    // a paragraph that fits is never split when the cut can fall on its end
    const paragraphs = chunkText('First paragraph. It is short.\n\nSecond paragraph is here. Also short.', { chunkSize: 12, overlap: 0 });
    expect(paragraphs.map((c) => c.text)).toEqual(['First paragraph. It is short.', 'Second paragraph is here. Also short.']);
  });

  it('falls back to clause marks, then spaces, inside a long sentence', () => {
    const text = Array.from({ length: 60 }, (_, i) => `clause number ${i} goes here`).join(', ') + '.';
    const chunks = chunkText(text, { chunkSize: 50, overlap: 0 });
    checkInvariants(text, chunks, 50, 0);
    for (const c of chunks.slice(0, -1)) expect(c.text).toMatch(/,$/);
    const words = Array.from({ length: 400 }, (_, i) => `word${i % 10}`).join(' ');
    checkInvariants(words, chunkText(words, { chunkSize: 30, overlap: 5 }), 30, 5);
  });

  it('keeps its invariants on random mixed text (seeded)', () => {
    let x = 42;
    const rnd = (k: number) => (x = (x * 1103515245 + 12345) % 2 ** 31) % k;
    const pieces = [
      'the',
      'Endpoint',
      'scaling',
      'naïve',
      'Zürich',
      '中文',
      '😀',
      '3.14',
      'a.b/c',
      'x'.repeat(40),
      'unaffable',
      '.',
      ',',
      ';',
      '!',
      '?',
      '"',
      '(',
      ')',
      '—',
      '\n',
      '\n\n',
      '  ',
      '\t',
      'InvocationsPerInstance',
      "don't",
      'https://x.io/a?b=c',
    ];
    for (let round = 0; round < 30; round++) {
      const text = Array.from({ length: 50 + rnd(600) }, () => pieces[rnd(pieces.length)] + (rnd(3) ? ' ' : '')).join('');
      const size = 8 + rnd(120);
      const overlap = rnd(Math.floor((size - 1) / 2) + 1);
      const chunks = chunkText(text, { chunkSize: size, overlap, minFill: rnd(2) ? 0.5 : rnd(10) / 10 });
      if (chunks.length) checkInvariants(text, chunks, size, overlap);
      else expect(text.trim()).toBe('');
    }
  });

  it('handles empty, blank, tiny and huge inputs', () => {
    expect(chunkText('')).toEqual([]);
    expect(chunkText('   \n\n\t ')).toEqual([]);
    expect(chunkText('\u200b\u0000')).toEqual([]);
    const one = chunkText('  Just one sentence.  ');
    expect(one).toEqual([{ text: 'Just one sentence.', index: 0, tokenCount: 4, startChar: 2, endChar: 20 }]);

    const huge = corpus(3000, 11); // ~0.6 MB
    expect(huge.length).toBeGreaterThan(500_000);
    const chunks = chunkText(huge);
    expect(chunks.length).toBeGreaterThan(400);
    for (const c of chunks) expect(c.text).toBe(huge.slice(c.startChar, c.endChar));
    // real-tokenizer check on a sample (every 50th chunk)
    for (let i = 0; i < chunks.length; i += 50) {
      expect(realCount(chunks[i].text)).toBe(chunks[i].tokenCount);
      expect(chunks[i].tokenCount).toBeLessThanOrEqual(256);
    }
  });

  it('splits a single word longer than the chunk at token boundaries', () => {
    const blob = 'Qm9hdA' + 'xZ3kP9vW2qLr7Tn'.repeat(300); // base64-like, no spaces or punctuation
    const text = `Before the blob. ${blob} After the blob.`;
    const chunks = chunkText(text, { chunkSize: 64, overlap: 8 });
    for (const c of chunks) {
      expect(c.text).toBe(text.slice(c.startChar, c.endChar));
      expect(realCount(c.text)).toBe(c.tokenCount);
      expect(c.tokenCount).toBeLessThanOrEqual(64);
    }
    expect(
      chunks
        .map((c) => c.text)
        .join('')
        .replace(/\s/g, ''),
    ).toContain(blob);
    expect(chunks[0].text).toBe('Before the blob.');
    expect(chunks.at(-1)!.text).toBe('After the blob.');
  });

  it('moves past a long word that leaves no room for the overlap', () => {
    // a word of 50..64 tokens: with 16 tokens of overlap before it, it would not fit
    let big = 'Qm9';
    while (tokenizer.count(big) < 50) big += 'xZ3kP9vW2q';
    expect(tokenizer.count(big)).toBeLessThanOrEqual(64);
    const filler = (n: number) => Array.from({ length: n }, (_, i) => ['alpha', 'beta', 'gamma', 'delta'][i % 4]).join(' ');
    const text = `${filler(60)} ${big} ${filler(30)}`;
    const chunks = chunkText(text, { chunkSize: 64, overlap: 16 });
    checkInvariants(text, chunks, 64, 16);
    expect(chunks.some((c) => c.text.includes(big))).toBe(true);
  });

  it('never cuts inside a URL or number when a space is available', () => {
    const url = 'https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling.html';
    const text = Array.from({ length: 30 }, (_, i) => `See ${url} for step ${i}.`).join(' ');
    const chunks = chunkText(text, { chunkSize: 48, overlap: 10 });
    checkInvariants(text, chunks, 48, 10);
    for (const c of chunks) {
      expect(c.text.startsWith('See ') || c.text.startsWith('for ') || /^\S+ for step/.test(c.text) || /^[a-z]/.test(c.text)).toBe(true);
      for (const m of c.text.matchAll(/https:\S+/g)) expect(url.startsWith(m[0].replace(/[.]$/, '')) || m[0] === url).toBe(true);
      expect(c.text).not.toMatch(/^[./:-]/);
    }
  });

  it('rejects sizes the model cannot take and overlaps that stall', () => {
    expect(() => chunkText('x', { chunkSize: 511 })).toThrow(/chunkSize/);
    expect(() => chunkText('x', { chunkSize: 0 })).toThrow(/chunkSize/);
    expect(() => chunkText('x', { chunkSize: 64, overlap: 32 })).toThrow(/overlap/);
    expect(() => chunkText('x', { chunkSize: 64, overlap: -1 })).toThrow(/overlap/);
    expect(chunkText('x y', { chunkSize: 1 })).toHaveLength(2); // overlap defaults below size / 2
  });
});

describe('cleanText', () => {
  it('reduces markdown to readable text', () => {
    const md = [
      '# Scaling endpoints ##',
      '',
      'Endpoints scale with **Application Auto Scaling** and __target tracking__. See [the docs](https://docs.aws.amazon.com/x.html "AWS") or [ref][1].',
      '![architecture diagram](img/arch.png)',
      '',
      '> Note: use *target tracking* on `InvocationsPerInstance`, not ~~step scaling~~.',
      '',
      '| Metric | Target |',
      '|:---|---:|',
      '| InvocationsPerInstance | 70 |',
      '',
      '* item one',
      '+ item two',
      '<div class="note">HTML <b>bold</b></div> keeps a < b and snake_case_name.',
      '<!-- hidden comment -->',
      '***',
      '[1]: https://example.com/ref',
      'Autolink <https://example.com/a>.',
    ].join('\n');
    expect(cleanText(md)).toBe(
      [
        'Scaling endpoints',
        '',
        'Endpoints scale with Application Auto Scaling and target tracking. See the docs or ref.',
        'architecture diagram',
        '',
        'Note: use target tracking on InvocationsPerInstance, not step scaling.',
        '',
        'Metric | Target',
        'InvocationsPerInstance | 70',
        '',
        '- item one',
        '- item two',
        'HTML bold keeps a < b and snake_case_name.',
        '',
        'Autolink https://example.com/a.',
      ].join('\n'),
    );
  });

  it('keeps code fences as code (no markdown rules inside), or drops them', () => {
    const md = 'Install it:\n\n```python\nimport boto3\n\n\nclient = boto3.client("sagemaker")   \n# **not bold**  [x](y)\n    indented()\n```\nDone.';
    expect(cleanText(md)).toBe('Install it:\n\nimport boto3\nclient = boto3.client("sagemaker")\n# **not bold**  [x](y)\n    indented()\n\nDone.');
    expect(cleanText(md, { code: 'drop' })).toBe('Install it:\n\nDone.');
    expect(cleanText('```\nunterminated fence\nstill code **x**')).toBe('unterminated fence\nstill code **x**');
  });

  it('normalises whitespace, newlines and invisible characters', () => {
    expect(cleanText('  a\u00a0\u00a0b\t\tc \r\n\r\n\r\n\r\nd\u200b\u00ade\u0007f  ')).toBe('a b c\n\ndef');
    expect(cleanText('e\u0301')).toBe('é'); // NFC
    expect(cleanText('')).toBe('');
  });

  it('produces text that chunks cleanly', () => {
    const cleaned = cleanText(`# Title\n\n${corpus(40, 5).replace(/\n\n/g, '\n\n> ')}`);
    checkInvariants(cleaned, chunkText(cleaned, { chunkSize: 100, overlap: 20 }), 100, 20);
  });
});
