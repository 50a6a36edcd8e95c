// WordPiece tokenizer of all-MiniLM-L6-v2 (bert-base-uncased vocabulary), synchronous and with
// character offsets, for token-aware chunking. It reproduces the tokenisation of the llama.cpp
// that embeds the text (node-llama-cpp's WPM tokenizer: normalise, split on whitespace,
// punctuation, ASCII symbols and CJK ideographs, then greedy longest-match WordPiece), so a
// chunk measured here has the token count the model sees. test/embeddings/chunker.test.ts checks
// it token for token against node-llama-cpp on mixed-script text.
//
// Where llama.cpp differs from Hugging Face's BertTokenizer, this follows llama.cpp (it is what
// embeds): words over 100 characters are split into pieces instead of becoming [UNK]; all
// combining marks are dropped (HF drops only non-spacing ones, which matters for Indic scripts);
// a precomposed character becomes the first code point of its decomposition (Hangul syllables
// keep only their first jamo). English text tokenises identically in all three
// (scripts/embedding-reference.py implements HF's rules, and the tests compare them).
//
// Why not node-llama-cpp's tokenizer directly: it needs the model loaded (async, 90 MB) and gives
// no offsets; transformers.js' AutoTokenizer would add onnxruntime to the install and gives no
// offsets either. Offsets are what lets a chunk be an exact slice of the source text.
import { readFileSync } from 'node:fs';
import { resolveTokenizerJson } from './model-files.js';

export interface Token {
  id: number;
  /** UTF-16 offsets into the tokenised text: text.slice(start, end) is what the token covers. */
  start: number;
  end: number;
  /** Index of the pre-tokenised word this token belongs to (WordPiece never crosses words). */
  word: number;
}

export interface Word {
  start: number;
  end: number;
  /** Tokens of this word: [firstToken, firstToken + tokenCount). */
  firstToken: number;
  tokenCount: number;
  /** The word is a single punctuation, ASCII symbol or CJK character. */
  isPunctuation: boolean;
}

interface CharClass {
  kind: 'space' | 'drop' | 'alone' | 'char';
  text: string; // the normalised code point ('' for space and drop)
}

interface NormChar {
  text: string; // normalised code point
  start: number; // offsets of the source code point
  end: number;
}

const RE_MARK = /\p{M}/u;
const RE_CONTROL = /\p{C}/u;
const RE_WHITESPACE = /\s/u;
const RE_PUNCT = /\p{P}/u;
const RE_SYMBOL = /\p{S}/u;

function isChinese(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b920 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

export class WordPieceTokenizer {
  readonly vocabSize: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly unkId: number;
  readonly padId: number;
  /** Longest vocabulary entry, in code points (bounds the longest-match search). */
  private readonly maxPieceLength: number;
  private readonly classCache = new Map<number, CharClass>();

  constructor(
    private readonly vocab: Map<string, number>,
    readonly lowercase = true,
    readonly stripAccents = true,
  ) {
    this.vocabSize = vocab.size;
    const need = (t: string) => {
      const id = vocab.get(t);
      if (id === undefined) throw new Error(`WordPiece vocabulary has no ${t}`);
      return id;
    };
    this.clsId = need('[CLS]');
    this.sepId = need('[SEP]');
    this.unkId = need('[UNK]');
    this.padId = need('[PAD]');
    let max = 0;
    for (const t of vocab.keys()) max = Math.max(max, [...(t.startsWith('##') ? t.slice(2) : t)].length);
    this.maxPieceLength = max;
  }

  /** From a Hugging Face tokenizer.json with a WordPiece model and a BertNormalizer. */
  static fromTokenizerJson(path: string): WordPieceTokenizer {
    const json = JSON.parse(readFileSync(path, 'utf8')) as {
      model?: { type?: string; vocab?: Record<string, number> };
      normalizer?: { type?: string; lowercase?: boolean; strip_accents?: boolean | null };
    };
    if (json.model?.type !== 'WordPiece' || !json.model.vocab) throw new Error(`${path} is not a WordPiece tokenizer.json`);
    const lowercase = json.normalizer?.lowercase ?? true;
    const strip = json.normalizer?.strip_accents ?? lowercase;
    return new WordPieceTokenizer(new Map(Object.entries(json.model.vocab)), lowercase, strip);
  }

  private static shared: WordPieceTokenizer | undefined;
  /** The tokenizer of the project's embedding model, loaded once per process. */
  static forEmbeddingModel(): WordPieceTokenizer {
    WordPieceTokenizer.shared ??= WordPieceTokenizer.fromTokenizerJson(resolveTokenizerJson());
    return WordPieceTokenizer.shared;
  }

  /**
   * What llama.cpp's WPM preprocessing does with one code point: with strip_accents it is first
   * replaced by the first code point of its canonical decomposition (é -> e); then whitespace
   * ends a word, NUL/U+FFFD/control characters and (with strip_accents) combining marks are
   * dropped, the rest is lowercased, and punctuation, ASCII symbols and CJK ideographs become
   * one-character words.
   */
  private classify(cp: number): CharClass {
    const cached = this.classCache.get(cp);
    if (cached) return cached;
    let mapped = cp;
    if (this.stripAccents) mapped = String.fromCodePoint(cp).normalize('NFD').codePointAt(0)!;
    const ch = String.fromCodePoint(mapped);
    let result: CharClass;
    if (RE_WHITESPACE.test(ch)) result = { kind: 'space', text: '' };
    else if (mapped === 0 || mapped === 0xfffd || RE_CONTROL.test(ch) || (this.stripAccents && RE_MARK.test(ch))) {
      result = { kind: 'drop', text: '' };
    } else {
      const text = this.lowercase ? String.fromCodePoint(ch.toLowerCase().codePointAt(0)!) : ch;
      const alone = RE_PUNCT.test(ch) || (mapped < 0x7f && RE_SYMBOL.test(ch)) || isChinese(mapped);
      result = { kind: alone ? 'alone' : 'char', text };
    }
    this.classCache.set(cp, result);
    return result;
  }

  /** Split into words (normalised code points with source offsets), as llama.cpp's preprocess. */
  private preTokenize(text: string): { chars: NormChar[]; punct: boolean }[] {
    const words: { chars: NormChar[]; punct: boolean }[] = [];
    let current: NormChar[] = [];
    const flush = () => {
      if (current.length) words.push({ chars: current, punct: false });
      current = [];
    };
    for (let i = 0; i < text.length; ) {
      const cp = text.codePointAt(i)!;
      const start = i;
      i += cp > 0xffff ? 2 : 1;
      const c = this.classify(cp);
      if (c.kind === 'space') flush();
      else if (c.kind === 'alone') {
        flush();
        words.push({ chars: [{ text: c.text, start, end: i }], punct: true });
      } else if (c.kind === 'char') current.push({ text: c.text, start, end: i });
    }
    flush();
    return words;
  }

  /** Tokens (without [CLS]/[SEP]) and words of a text, with offsets into it. */
  analyze(text: string): { tokens: Token[]; words: Word[] } {
    const tokens: Token[] = [];
    const words: Word[] = [];
    for (const w of this.preTokenize(text)) {
      const cps = w.chars.map((c) => c.text);
      const src = w.chars;
      const wordIndex = words.length;
      const firstToken = tokens.length;
      const pieces: Token[] = [];
      let ok = true;
      for (let i = 0; i < cps.length && ok; ) {
        let matched = false;
        for (let j = Math.min(cps.length, i + this.maxPieceLength); j > i; j--) {
          const piece = (i === 0 ? '' : '##') + cps.slice(i, j).join('');
          const id = this.vocab.get(piece);
          if (id !== undefined) {
            pieces.push({ id, start: src[i].start, end: src[j - 1].end, word: wordIndex });
            i = j;
            matched = true;
            break;
          }
        }
        ok = matched;
      }
      const start = w.chars[0].start;
      const end = w.chars[w.chars.length - 1].end;
      if (ok) tokens.push(...pieces);
      else tokens.push({ id: this.unkId, start, end, word: wordIndex });
      words.push({ start, end, firstToken, tokenCount: tokens.length - firstToken, isPunctuation: w.punct });
    }
    return { tokens, words };
  }

  /** Token ids without special tokens. */
  encode(text: string): number[] {
    return this.analyze(text).tokens.map((t) => t.id);
  }

  /** Token ids as the model sees them: [CLS] ... [SEP]. */
  encodeWithSpecials(text: string): number[] {
    return [this.clsId, ...this.encode(text), this.sepId];
  }

  /** Number of tokens without special tokens. */
  count(text: string): number {
    return this.analyze(text).tokens.length;
  }
}
