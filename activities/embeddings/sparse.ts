// BM25-style sparse vectors for the lexical half of hybrid retrieval.
//
// Split of the BM25 formula (the "IDF on the server" scheme Qdrant uses for sparse vectors with
// `modifier: "idf"`):
//   document vector: term -> BM25 term-frequency saturation
//                    tf * (k1 + 1) / (tf + k1 * (1 - b + b * docLength / avgDocLength))
//   query vector:    term -> 1 (presence; a repeated query term counts once)
//   score(q, d) = sum over shared terms t of  q_t * idf(t) * d_t
//   idf(t) = ln(1 + (N - n_t + 0.5) / (n_t + 0.5))     N: documents, n_t: documents containing t
// The IDF is not baked into the vectors: it depends on the whole collection and changes as
// documents are added, so the store applies it at query time. Qdrant does so when the sparse
// vector is configured with `modifier: "idf"` (same formula); the embedded adapter must keep
// document frequencies per term id and use `bm25Score` below, so both stores rank alike.
//
// Terms: lowercase, accents stripped, split on anything that is not a letter or digit
// (apostrophes inside words are dropped: "don't" -> "dont"), CJK ideographs and kana one per
// term, a small English stopword list removed, optional light stemming (Porter's step 1:
// plurals, -ed, -ing, final y). Term ids: FNV-1a 32-bit of the term's UTF-8 bytes, mod 2^31 (stable
// across processes and languages; collisions only merge two rare terms).

export interface SparseVector {
  /** Term ids, ascending and unique. */
  indices: number[];
  values: number[];
}

export interface SparseOptions {
  /** BM25 term-frequency saturation. Default 1.2. */
  k1?: number;
  /** BM25 length normalisation. Default 0.75. */
  b?: number;
  /**
   * Average document length in terms (after stopwords). Default 128: about what a 256-token
   * chunk of English prose leaves. Pass the corpus's real mean when it is known; it must be the
   * same value for every document of a collection.
   */
  avgDocLength?: number;
  /** Light stemming (Porter step 1: plurals, -ed, -ing). Default true. */
  stem?: boolean;
  /** Remove English stopwords. Default true. */
  stopwords?: boolean;
}

export const ENGLISH_STOPWORDS: ReadonlySet<string> = new Set(
  (
    'a about above after again against all am an and any are as at be because been before being below between both but by ' +
    'can could did do does doing down during each few for from further had has have having he her here hers herself him ' +
    'himself his how i if in into is it its itself just me more most my myself no nor not of off on once only or other our ' +
    'ours ourselves out over own same she should so some such than that the their theirs them themselves then there these ' +
    'they this those through to too under until up very was we were what when where which while who whom why will with ' +
    'would you your yours yourself yourselves s t d ll m re ve dont doesnt didnt isnt arent wasnt werent im ive youre'
  ).split(' '),
);

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const utf8 = new TextEncoder();

/** FNV-1a 32-bit hash of the UTF-8 bytes of a term, mod 2^31: the term's sparse index. */
export function termId(term: string): number {
  let h = FNV_OFFSET;
  for (const byte of utf8.encode(term)) {
    h ^= byte;
    h = Math.imul(h, FNV_PRIME) >>> 0;
  }
  return h % 0x80000000;
}

// Light stemming: step 1 of Porter's algorithm (plurals, -ed, -ing, final y), so "scaling" and
// "scale", "endpoints" and "endpoint", "queries" and "query" meet, without the later steps
// that conflate more aggressively ("general"/"generate").
const isConsonant = (w: string, i: number): boolean => {
  const c = w[i];
  if ('aeiou'.includes(c)) return false;
  if (c === 'y') return i === 0 || !isConsonant(w, i - 1);
  return true;
};
/** Porter's m: the number of vowel-consonant sequences in the stem. */
function measure(stem: string): number {
  let m = 0;
  let i = 0;
  while (i < stem.length && isConsonant(stem, i)) i++;
  while (i < stem.length) {
    while (i < stem.length && !isConsonant(stem, i)) i++;
    if (i >= stem.length) break;
    while (i < stem.length && isConsonant(stem, i)) i++;
    m++;
  }
  return m;
}
const hasVowel = (stem: string) => [...stem].some((_, i) => !isConsonant(stem, i));
const endsCvc = (w: string) => {
  const n = w.length;
  return n >= 3 && isConsonant(w, n - 3) && !isConsonant(w, n - 2) && isConsonant(w, n - 1) && !'wxy'.includes(w[n - 1]);
};

/** Porter stemmer step 1 (1a, 1b, 1c). Words of 3 letters or fewer, and non-ASCII words, are kept. */
export function stemLight(word: string): string {
  if (word.length <= 3 || !/^[a-z]+$/.test(word)) return word;
  let w = word;
  // 1a
  if (w.endsWith('sses')) w = w.slice(0, -2);
  else if (w.endsWith('ies')) w = w.slice(0, -2);
  else if (!w.endsWith('ss') && w.endsWith('s')) w = w.slice(0, -1);
  // 1b
  let extra = false;
  if (w.endsWith('eed')) {
    if (measure(w.slice(0, -3)) > 0) w = w.slice(0, -1);
  } else if (w.endsWith('ed') && hasVowel(w.slice(0, -2))) {
    w = w.slice(0, -2);
    extra = true;
  } else if (w.endsWith('ing') && hasVowel(w.slice(0, -3))) {
    w = w.slice(0, -3);
    extra = true;
  }
  if (extra) {
    if (w.endsWith('at') || w.endsWith('bl') || w.endsWith('iz')) w += 'e';
    else if (w.length >= 2 && w[w.length - 1] === w[w.length - 2] && isConsonant(w, w.length - 1) && !'lsz'.includes(w[w.length - 1])) {
      w = w.slice(0, -1);
    } else if (measure(w) === 1 && endsCvc(w)) w += 'e';
  }
  // 1c
  if (w.endsWith('y') && hasVowel(w.slice(0, -1))) w = w.slice(0, -1) + 'i';
  return w;
}

const RE_TERM = /[\p{L}\p{N}]+/gu;
const RE_SINGLE = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u;

/** Terms of a text in order (with repeats), after normalisation, stopwords and stemming. */
export function sparseTerms(text: string, options: SparseOptions = {}): string[] {
  const stem = options.stem ?? true;
  const dropStopwords = options.stopwords ?? true;
  const normalized = text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/(\p{L})['’](?=\p{L})/gu, '$1');
  const terms: string[] = [];
  for (const [raw] of normalized.matchAll(RE_TERM)) {
    if (RE_SINGLE.test(raw)) {
      // CJK runs have no spaces: one term per ideograph / kana, other letters grouped.
      let run = '';
      for (const ch of raw) {
        if (RE_SINGLE.test(ch)) {
          if (run) terms.push(run);
          run = '';
          terms.push(ch);
        } else run += ch;
      }
      if (run) terms.push(run);
      continue;
    }
    if (dropStopwords && ENGLISH_STOPWORDS.has(raw)) continue;
    terms.push(stem ? stemLight(raw) : raw);
  }
  return terms;
}

function resolve(options: SparseOptions): Required<SparseOptions> {
  const r = { k1: 1.2, b: 0.75, avgDocLength: 128, stem: true, stopwords: true, ...options };
  if (!(r.k1 >= 0)) throw new Error(`k1 must be >= 0, got ${r.k1}`);
  if (!(r.b >= 0 && r.b <= 1)) throw new Error(`b must be in [0, 1], got ${r.b}`);
  if (!(r.avgDocLength > 0)) throw new Error(`avgDocLength must be > 0, got ${r.avgDocLength}`);
  return r;
}

function toVector(weights: Map<number, number>): SparseVector {
  const indices = [...weights.keys()].sort((a, b) => a - b);
  return { indices, values: indices.map((i) => weights.get(i)!) };
}

/** Document vector: BM25 term-frequency weights (no IDF; the store applies it). */
export function sparseDocumentVector(text: string, options: SparseOptions = {}): SparseVector {
  const o = resolve(options);
  const terms = sparseTerms(text, o);
  const tf = new Map<number, number>();
  for (const t of terms) {
    const id = termId(t);
    tf.set(id, (tf.get(id) ?? 0) + 1);
  }
  const norm = o.k1 * (1 - o.b + (o.b * terms.length) / o.avgDocLength);
  const weights = new Map<number, number>();
  for (const [id, f] of tf) weights.set(id, (f * (o.k1 + 1)) / (f + norm));
  return toVector(weights);
}

/** Query vector: 1 for every distinct term. */
export function sparseQueryVector(text: string, options: SparseOptions = {}): SparseVector {
  const o = resolve(options);
  const weights = new Map<number, number>();
  for (const t of sparseTerms(text, o)) weights.set(termId(t), 1);
  return toVector(weights);
}

/**
 * Score of a document for a query as Qdrant computes it for an IDF-modified sparse vector:
 * sum of query value * idf * document value over shared indices. `idfOf` gives a term id's IDF
 * (omit it for a plain dot product; the stores use vector-store/common.ts bm25Idf). Both vectors must have ascending indices.
 */
export function bm25Score(query: SparseVector, doc: SparseVector, idfOf: (termId: number) => number = () => 1): number {
  let score = 0;
  let i = 0;
  let j = 0;
  while (i < query.indices.length && j < doc.indices.length) {
    const qi = query.indices[i];
    const dj = doc.indices[j];
    if (qi === dj) {
      score += query.values[i] * idfOf(qi) * doc.values[j];
      i++;
      j++;
    } else if (qi < dj) i++;
    else j++;
  }
  return score;
}

/** Encoder with fixed options, for callers that pass one object around. */
export class SparseEncoder {
  private readonly options: Required<SparseOptions>;
  constructor(options: SparseOptions = {}) {
    this.options = resolve(options);
  }
  get settings(): Readonly<Required<SparseOptions>> {
    return this.options;
  }
  terms(text: string): string[] {
    return sparseTerms(text, this.options);
  }
  document(text: string): SparseVector {
    return sparseDocumentVector(text, this.options);
  }
  query(text: string): SparseVector {
    return sparseQueryVector(text, this.options);
  }
}
