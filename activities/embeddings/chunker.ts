// Token-aware chunking with the embedding model's own tokenizer, and text cleaning for ingest.
//
// chunkText packs whole words into chunks of at most `chunkSize` WordPiece tokens (the count
// the embedding model sees, without [CLS]/[SEP]), cutting where the text has the strongest
// boundary in the second half of the window: a paragraph break, then a sentence end, then a
// line break, then a clause mark, then any space. Consecutive chunks share about `overlap`
// tokens, starting at a sentence or clause start inside that window when there is one. Every
// chunk is an exact slice of the input: text === input.slice(startChar, endChar).
import { WordPieceTokenizer, type Word } from './tokenizer.js';

export interface Chunk {
  text: string;
  /** 0-based position of the chunk in the document. */
  index: number;
  /** WordPiece tokens of `text`, without [CLS]/[SEP]. */
  tokenCount: number;
  /** UTF-16 offsets of the chunk in the text given to chunkText. */
  startChar: number;
  endChar: number;
}

export interface ChunkOptions {
  /** Maximum tokens per chunk (without the 2 special tokens). Default 256; at most 510. */
  chunkSize?: number;
  /** Tokens shared by consecutive chunks. Default 32; less than chunkSize / 2. */
  overlap?: number;
  /** Do not cut before this fraction of chunkSize when a weaker boundary exists later. Default 0.5. */
  minFill?: number;
  /** Tokenizer; default: the embedding model's (WordPieceTokenizer.forEmbeddingModel()). */
  tokenizer?: WordPieceTokenizer;
}

/** all-MiniLM-L6-v2 has 512 positions; [CLS] and [SEP] take two. */
export const MAX_CHUNK_TOKENS = 510;
export const DEFAULT_CHUNK_SIZE = 256;
export const DEFAULT_CHUNK_OVERLAP = 32;

// Boundary strengths, for a cut before word i.
const GLUED = -1; // no whitespace between the words (inside "3.14", "a.b/c", "don't")
const SPACE = 0;
const CLAUSE = 1;
const LINE = 2;
const SENTENCE = 3;
const PARAGRAPH = 4;

const SENTENCE_END = new Set(['.', '!', '?', '…', '。', '！', '？']);
const CLOSERS = new Set(['"', "'", '”', '’', ')', ']', '»', '*', '_']);
const CLAUSE_MARKS = new Set([',', ';', ':', '—', '–', '、', '，', '；', '：']);

function boundaryStrengths(text: string, words: Word[]): Int8Array {
  const strength = new Int8Array(words.length + 1);
  const char = (w: Word) => text.slice(w.start, w.end);
  for (let i = 1; i < words.length; i++) {
    const gap = text.slice(words[i - 1].end, words[i].start);
    if (gap.length === 0) {
      strength[i] = GLUED;
      continue;
    }
    if (/\n[^\S\n]*\n/.test(gap)) {
      strength[i] = PARAGRAPH;
      continue;
    }
    let k = i - 1;
    // Step back over closing quotes/brackets/emphasis glued to a sentence end: 'He said "no."'
    while (k > 0 && words[k].isPunctuation && CLOSERS.has(char(words[k])) && words[k].start === words[k - 1].end) k--;
    const last = words[k];
    if (last.isPunctuation && SENTENCE_END.has(char(last))) strength[i] = SENTENCE;
    else if (gap.includes('\n')) strength[i] = LINE;
    else if (words[i - 1].isPunctuation && CLAUSE_MARKS.has(char(words[i - 1]))) strength[i] = CLAUSE;
    else strength[i] = SPACE;
  }
  strength[0] = PARAGRAPH;
  strength[words.length] = PARAGRAPH;
  return strength;
}

function validate(options: ChunkOptions): { size: number; overlap: number; minFill: number } {
  const size = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const overlap = options.overlap ?? Math.min(DEFAULT_CHUNK_OVERLAP, Math.floor((size - 1) / 2));
  const minFill = options.minFill ?? 0.5;
  if (!Number.isInteger(size) || size < 1 || size > MAX_CHUNK_TOKENS) {
    throw new RangeError(`chunkSize must be an integer from 1 to ${MAX_CHUNK_TOKENS} (the model's 512 positions minus [CLS] and [SEP]), got ${size}`);
  }
  if (!Number.isInteger(overlap) || overlap < 0 || overlap * 2 >= size) {
    throw new RangeError(`overlap must be an integer from 0 to less than chunkSize / 2 (${size / 2}), got ${overlap}`);
  }
  if (!(minFill >= 0 && minFill <= 1)) throw new RangeError(`minFill must be in [0, 1], got ${minFill}`);
  return { size, overlap, minFill };
}

/** Split a text into token-bounded, overlapping chunks. Empty or blank text gives []. */
export function chunkText(text: string, options: ChunkOptions = {}): Chunk[] {
  const { size, overlap, minFill } = validate(options);
  const tokenizer = options.tokenizer ?? WordPieceTokenizer.forEmbeddingModel();
  const { tokens, words } = tokenizer.analyze(text);
  const n = words.length;
  if (n === 0) return [];
  // prefix[i] = tokens in words [0, i)
  const prefix = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i] + words[i].tokenCount;
  const strength = boundaryStrengths(text, words);

  const chunks: Chunk[] = [];
  const push = (startChar: number, endChar: number, tokenCount: number) => {
    chunks.push({ text: text.slice(startChar, endChar), index: chunks.length, tokenCount, startChar, endChar });
  };

  let s = 0;
  let lastCut = 0; // end (word index) of the previous chunk: a chunk must reach past it
  while (s < n) {
    // A single word longer than the chunk (a long run of letters and digits): cut it at token
    // boundaries, on its own, without overlap.
    if (words[s].tokenCount > size) {
      const w = words[s];
      for (let t = w.firstToken; t < w.firstToken + w.tokenCount; ) {
        let end = Math.min(t + size, w.firstToken + w.tokenCount);
        // A piece re-tokenised on its own can split differently; shrink until it fits.
        while (end > t + 1 && tokenizer.count(text.slice(tokens[t].start, tokens[end - 1].end)) > size) end--;
        const startChar = tokens[t].start;
        const endChar = tokens[end - 1].end;
        push(startChar, endChar, tokenizer.count(text.slice(startChar, endChar)));
        t = end;
      }
      s++;
      lastCut = s;
      continue;
    }

    // Furthest word end e such that words [s, e) fit.
    let e = s + 1;
    while (e < n && prefix[e + 1] - prefix[s] <= size) e++;
    let cut = e;
    if (e < n) {
      // Best boundary in (max(s, lastCut), e]: strongest, then latest; only past minFill
      // unless nothing is there.
      const floor = prefix[s] + minFill * size;
      const low = Math.max(s, lastCut);
      let best = -1;
      let bestStrength = -2;
      for (let c = e; c > low; c--) {
        if (prefix[c] < floor && best !== -1) break;
        if (strength[c] > bestStrength) {
          best = c;
          bestStrength = strength[c];
        }
      }
      // Nothing but glued boundaries past the floor: look before it for a real one.
      if (bestStrength <= GLUED) {
        for (let c = best - 1; c > low; c--) {
          if (strength[c] > GLUED) {
            best = c;
            break;
          }
        }
      }
      cut = best;
    }
    push(words[s].start, words[cut - 1].end, prefix[cut] - prefix[s]);
    lastCut = cut;
    if (cut >= n) break;

    // Next start: within the last `overlap` tokens of this chunk, at the strongest boundary
    // (earliest among equals, for the most context); no overlap if no word fits. The budget
    // leaves room for the word at the cut, so the next chunk always reaches past this one.
    let next = cut;
    const budget = Math.min(overlap, size - words[cut].tokenCount);
    if (budget > 0) {
      let from = cut;
      while (from - 1 > s && prefix[cut] - prefix[from - 1] <= budget) from--;
      let bestStrength = -2;
      for (let c = from; c < cut; c++) {
        if (strength[c] > bestStrength) {
          next = c;
          bestStrength = strength[c];
        }
      }
      if (bestStrength <= GLUED) next = cut;
    }
    s = Math.max(next, s + 1);
  }
  return chunks;
}

export interface CleanOptions {
  /** Fenced code blocks: 'keep' their content (default) or 'drop' them. */
  code?: 'keep' | 'drop';
}

/**
 * Normalise text for embedding: Unicode NFC, no zero-width or control characters, markdown
 * reduced to its readable text (images to their alt text, links to their text, emphasis,
 * heading, quote and rule markers and HTML tags removed, table rules dropped), code fences
 * reduced to their content, spaces collapsed, at most one blank line between paragraphs.
 */
export function cleanText(input: string, options: CleanOptions = {}): string {
  const code = options.code ?? 'keep';
  let text = input
    .normalize('NFC')
    .replace(/\r\n?/g, '\n')
    .replace(/[\u200b-\u200d\u2060\ufeff\u00ad]/g, '')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g, '')
    .replace(/\t/g, '    ');

  // Take fenced code out first, so markdown rules do not touch it.
  const blocks: string[] = [];
  text = text.replace(/^[ ]{0,3}(`{3,}|~{3,})[^\n]*\n([\s\S]*?)(?:^[ ]{0,3}\1[`~]*[ ]*$|(?![\s\S]))/gm, (_m, _fence, body: string) => {
    if (code === 'drop') return '\n';
    const lines = body
      .replace(/\n+$/, '')
      .split('\n')
      .map((l) => l.replace(/\s+$/, ''));
    const collapsed = lines
      .join('\n')
      .replace(/\n{2,}/g, '\n')
      .trim();
    blocks.push(collapsed);
    return `\n\u0000${blocks.length - 1}\u0000\n`;
  });

  text = text
    .replace(/<!--[\s\S]*?-->/g, '')
    // images: ![alt](target "title") -> alt
    .replace(/!\[([^\]]*)\]\((?:[^()\s]|\([^()]*\))*(?:\s+"[^"]*")?\)/g, '$1')
    .replace(/!\[([^\]]*)\]\[[^\]]*\]/g, '$1')
    // links: [text](target) and [text][ref] -> text
    .replace(/\[([^\]]+)\]\((?:[^()\s]|\([^()]*\))*(?:\s+"[^"]*")?\)/g, '$1')
    .replace(/\[([^\]]+)\]\[[^\]]*\]/g, '$1')
    // reference definitions: [ref]: http://...
    .replace(/^[ ]{0,3}\[[^\]]+\]:\s+\S+.*(?:\n|$)/gm, '')
    // autolinks <https://x> -> https://x
    .replace(/<((?:https?|ftp|mailto):[^>\s]+)>/g, '$1')
    // HTML tags (not "a < b" comparisons: a tag starts with a letter or /)
    .replace(/<\/?[a-zA-Z][a-zA-Z0-9-]*(?:\s[^<>]*)?\/?>/g, ' ')
    // headings, blockquotes, horizontal rules, table separator rows
    .replace(/^[ ]{0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/gm, '$1')
    .replace(/^[ ]{0,3}(?:>[ ]?)+/gm, '')
    .replace(/^[ ]{0,3}(?:[-*_][ \t]*){3,}$/gm, '')
    .replace(/^\|?[ \t]*:?-{3,}:?[ \t]*(?:\|[ \t]*:?-{3,}:?[ \t]*)*\|?[ \t]*(?:\n|$)/gm, '')
    // table rows: | a | b | -> a | b
    .replace(/^[ \t]*\|(.*)\|[ \t]*$/gm, (_m, cells: string) =>
      cells
        .split('|')
        .map((c) => c.trim())
        .join(' | '),
    )
    // list bullets to "- "
    .replace(/^([ \t]*)[*+][ \t]+/gm, '$1- ')
    // emphasis and inline code markers
    .replace(/(\*\*|__)(?=\S)([\s\S]*?\S)\1/g, '$2')
    .replace(/(^|[^\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])/g, '$1$2')
    .replace(/(^|[^\w])_(?=\S)([^_\n]*?\S)_(?!\w)/g, '$1$2')
    .replace(/~~(?=\S)([\s\S]*?\S)~~/g, '$1')
    .replace(/`([^`\n]+)`/g, '$1')
    // whitespace
    .replace(/[^\S\n]+/g, ' ')
    .replace(/ *\n */g, '\n')
    .replace(/\n{3,}/g, '\n\n');

  text = text.replace(/\n?\u0000(\d+)\u0000\n?/g, (_m, i: string) => `\n\n${blocks[Number(i)]}\n\n`);
  return text.replace(/\n{3,}/g, '\n\n').trim();
}
