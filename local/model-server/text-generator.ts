// The model behind every image family: a GGUF file run by node-llama-cpp with continuous
// batching. The context holds several sequences; each request takes a free one (see
// batch-admission.ts for who gets in and who waits) and node-llama-cpp decodes the pending
// tokens of all active sequences in one batch per step, so concurrent requests share each
// forward pass the way TGI and vLLM batch them. Tokens are yielded as they are sampled so
// streaming is real, each with its id, text and log-probability the way TGI reports them.
import {
  type ControlledEvaluateInputItem,
  getLlama,
  LlamaLogLevel,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaModel,
  type Token,
} from 'node-llama-cpp';
import type { Logger } from 'pino';
import { BatchAdmission } from './batch-admission.js';
import { ChatTemplate } from './chat-template.js';
import type { FlashAttentionSetting, KvCacheType, KvCacheTypeSetting } from './config.js';
import { DecodeLockstep } from './decode-lockstep.js';
import { chooseSequence } from './sequence-choice.js';

export type FinishReason = 'length' | 'eos_token' | 'stop_sequence';

export interface SamplingOptions {
  temperature: number;
  /** 0 = whole vocabulary. */
  topK: number;
  /** 1 = no nucleus cut. */
  topP: number;
  seed: number;
}

export interface GenerationRequest {
  input: readonly Token[];
  maxNewTokens: number;
  /** Absent: greedy decoding. */
  sampling?: SamplingOptions;
  /** Multiplicative (CTRL-style) penalty over prompt and generated tokens; 1 = off. */
  repetitionPenalty: number;
  /** Additive penalty by count of earlier occurrences; 0 = off. */
  frequencyPenalty: number;
  stop: readonly string[];
  /** Keep generating past end-of-sequence tokens until maxNewTokens (vLLM's ignore_eos; for benches). */
  ignoreEos?: boolean;
  /** How many most likely alternatives to report per position (0 = none). */
  topN: number;
  signal?: AbortSignal;
}

export interface TokenInfo {
  id: number;
  text: string;
  /** null unless the request asked for log-probabilities. */
  logprob: number | null;
  special: boolean;
}

/**
 * What a response reports beyond the text. A greedy token's log-probability costs one pass over
 * the vocabulary; a sampled token's makes node-llama-cpp sort the whole vocabulary (see
 * decodeNext), work per sequence that batching cannot share, so a family asks for it only when
 * its response carries it.
 */
export interface ReportedDetail {
  logprobs: boolean;
}

export interface GeneratedToken extends TokenInfo {
  top: TokenInfo[];
  /** Set on the last token, so a stream can mark it final without waiting for another. */
  finishReason?: FinishReason;
}

export interface GenerationResult {
  /** Absent when generation ended early (aborted by the caller, or the model stopped yielding). */
  finishReason?: FinishReason;
  generatedTokens: number;
  /** Text of the non-special tokens, equal to the concatenation of their `text`. */
  text: string;
  /** Prompt tokens whose KV the sequence already held from an earlier request (not evaluated again). */
  reusedPromptTokens: number;
}

// A UTF-8 character spans at most 4 byte tokens; a decode ending in U+FFFD with fewer pending
// tokens than that is an incomplete character, so its text is held back for the next token.
const MAX_BYTES_PER_CHAR = 4;
const DETOKENIZE_CONTEXT = 8;

/** How the context is laid out for batching; an image family derives it from its settings. */
export interface BatchLayout {
  /** Tokens one sequence holds: the longest prompt + generation a request may have. */
  contextSize: number;
  /** Requests decoded together at most; each sequence holds `contextSize` KV cells. */
  sequences: number;
  /** Cap on the sum of prompt + max_new_tokens over the requests running at once. */
  maxBatchTotalTokens: number;
}

export interface TextGeneratorOptions {
  modelPath: string;
  threads: number;
  /** llama.cpp's flash attention; "auto" (the default) decides by the model's head size. */
  flashAttention?: FlashAttentionSetting;
  /** The KV cache's element type; "auto" (the default) decides with flash attention (see attentionSetup). */
  kvCacheType?: KvCacheTypeSetting;
  /** Picks the batch layout once the model's training context is known. */
  layout: (trainContextSize: number) => BatchLayout;
  logger: Logger;
}

export class TextGenerator {
  private readonly admission: BatchAdmission<LlamaContextSequence>;
  private readonly lockstep = new DecodeLockstep();
  /**
   * Each sequence's id in the native context. A fresh context hands ids out in order (0, 1, …),
   * and node-llama-cpp keeps the id itself internal, so it is the index of creation.
   */
  private readonly sequenceIds: Map<LlamaContextSequence, number>;

  private constructor(
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    layout: BatchLayout,
    /** The model's chat template, for `messages` requests; undefined when it has none. */
    readonly chatTemplate: ChatTemplate | undefined,
  ) {
    const sequences = Array.from({ length: context.totalSequences }, () => context.getSequence());
    this.sequenceIds = new Map(sequences.map((seq, id) => [seq, id]));
    this.admission = new BatchAdmission(sequences, layout.maxBatchTotalTokens);
  }

  static async load({
    modelPath,
    threads,
    flashAttention = 'auto',
    kvCacheType = 'auto',
    layout: chooseLayout,
    logger,
  }: TextGeneratorOptions): Promise<TextGenerator> {
    const llama = await getLlama({
      gpu: false,
      build: 'never',
      logLevel: LlamaLogLevel.error,
      logger: (level, message) => logger.warn({ llamaLevel: level }, message.trim()),
    });
    const model = await llama.loadModel({ modelPath });
    const layout = chooseLayout(model.trainContextSize);
    const heads = attentionHeadSize(model);
    const attention = attentionSetup(heads, { flashAttention, kvCacheType });
    const cacheType = KV_CACHE_GGML_TYPE[attention.kvCacheType];
    const context = await model.createContext({
      threads,
      contextSize: layout.contextSize,
      sequences: layout.sequences,
      flashAttention: attention.flashAttention,
      experimentalKvCacheKeyType: cacheType,
      experimentalKvCacheValueType: cacheType,
    });
    const chatTemplate = ChatTemplate.find(model, modelPath);
    logger.info(
      {
        modelPath,
        contextSize: context.contextSize,
        sequences: context.totalSequences,
        batchSize: context.batchSize,
        threads,
        attentionHeadSize: heads,
        ...attention,
        chatTemplate: chatTemplate?.source ?? 'none',
      },
      'model loaded',
    );
    return new TextGenerator(model, context, layout, chatTemplate);
  }

  /** Requests running or waiting for a place in the batch; lets a family refuse work when overloaded. */
  get inFlight(): number {
    return this.admission.running + this.admission.queued;
  }

  /** Prompt tokens as the model sees them, with the BOS token the model expects. */
  tokenize(text: string): Token[] {
    const tokens = this.model.tokenize(text);
    const bos = this.model.tokens.bos;
    return this.model.tokens.shouldPrependBosToken && bos !== null ? [bos, ...tokens] : tokens;
  }

  detokenize(tokens: readonly Token[], lastTokens?: readonly Token[]): string {
    return this.model.detokenize(tokens, false, lastTokens);
  }

  /** Waits for a place in the batch (RequestAbortedError if the caller leaves first), then generates. */
  async *generate(req: GenerationRequest & ReportedDetail): AsyncGenerator<GeneratedToken, GenerationResult> {
    const { slot, release } = await this.admission.admit(req.input.length + req.maxNewTokens, (free) => this.chooseSequence(free, req.input), req.signal);
    const step = this.lockstep.join(this.sequenceId(slot));
    try {
      return yield* this.run(slot, step, req);
    } finally {
      this.lockstep.leave(step);
      release();
    }
  }

  private sequenceId(seq: LlamaContextSequence): number {
    return this.sequenceIds.get(seq) ?? 0;
  }

  private chooseSequence(free: readonly LlamaContextSequence[], input: readonly Token[]): number {
    const running = new Set(this.sequenceIds.values());
    for (const seq of free) running.delete(this.sequenceId(seq));
    const candidates = free.map((seq) => ({ id: this.sequenceId(seq), shared: seq.compareContextTokens(input as Token[]).firstDifferentIndex }));
    return chooseSequence(candidates, running, input.length);
  }

  async dispose(): Promise<void> {
    await this.context.dispose();
    await this.model.dispose();
  }

  /** Keeps the evaluated prefix the new prompt shares with the last one, so it is not recomputed. */
  private async tokensToEvaluate(seq: LlamaContextSequence, input: readonly Token[]): Promise<{ tokens: Token[]; reused: number }> {
    const { firstDifferentIndex } = seq.compareContextTokens(input as Token[]);
    // At least one prompt token must be evaluated to get logits for the first new token.
    const keep = Math.min(firstDifferentIndex, input.length - 1);
    if (seq.nextTokenIndex > keep) await seq.eraseContextTokenRanges([{ start: keep, end: seq.nextTokenIndex }]);
    return { tokens: input.slice(keep), reused: keep };
  }

  private async *run(seq: LlamaContextSequence, step: symbol, req: GenerationRequest & ReportedDetail): AsyncGenerator<GeneratedToken, GenerationResult> {
    const model = this.model;
    const all: Token[] = [...req.input];
    const prompt = await this.tokensToEvaluate(seq, req.input);
    const plan = stepPlan(req, all);
    let pendingInput: Token[] = prompt.tokens;
    let generated = 0;
    let text = '';
    let pending: Token[] = [];
    let finishReason: FinishReason | undefined;
    // The prompt joins the running requests' next decode rather than going alone.
    await this.lockstep.arrive(step);
    while (!req.signal?.aborted) {
      const out = await this.decodeNext(seq, pendingInput, plan, generated);
      if (!out || req.signal?.aborted) break;
      generated += 1;
      const context = all.slice(-(pending.length + DETOKENIZE_CONTEXT), all.length - pending.length);
      all.push(out.token);
      const special = model.isEogToken(out.token);
      let piece = '';
      if (special) {
        piece = model.detokenize([out.token], true);
      } else {
        pending.push(out.token);
        const decoded = model.detokenize(pending, false, context);
        if (!decoded.endsWith('\uFFFD') || pending.length >= MAX_BYTES_PER_CHAR) {
          piece = decoded;
          pending = [];
          text += piece;
        }
      }
      // The same order of checks as TGI's stopping criteria: length, then EOS, then stop sequences.
      const finish: FinishReason | undefined =
        generated >= req.maxNewTokens
          ? 'length'
          : special && !req.ignoreEos
            ? 'eos_token'
            : piece && req.stop.some((s) => text.includes(s, Math.max(0, text.length - piece.length - s.length + 1)))
              ? 'stop_sequence'
              : undefined;
      yield {
        id: out.token,
        text: piece,
        logprob: out.logprob,
        special,
        top: out.probabilities ? this.topTokens(out.probabilities, req.topN, all.slice(-DETOKENIZE_CONTEXT - 1, -1)) : [],
        finishReason: finish,
      };
      if (finish) {
        finishReason = finish;
        break;
      }
      pendingInput = [out.token];
      await this.lockstep.arrive(step);
    }
    return { finishReason, generatedTokens: generated, text, reusedPromptTokens: prompt.reused };
  }

  /**
   * Evaluates `input` on the sequence and samples the token after it, with only the detail the
   * response reports. One step per call (controlledEvaluate) rather than node-llama-cpp's
   * generator, because only a step can ask for the total logit weight: a greedy token is the
   * highest logit, so its log-probability is -ln(sum of exp(logit - max)), one pass over the
   * vocabulary, where the generator's `confidence` first sorts the whole vocabulary (Gemma's
   * 262k tokens: 43 vs 29 ms a token on one core, and work per sequence that a batch cannot
   * share). A sampled token is not the highest, so it still takes `confidence`.
   */
  private async decodeNext(
    seq: LlamaContextSequence,
    input: readonly Token[],
    plan: StepPlan,
    index: number,
  ): Promise<{ token: Token; logprob: number | null; probabilities?: Map<Token, number> } | undefined> {
    const { seed, ...options } = plan.options;
    // A step's sampler is new, so each step gets its own seed from the request's.
    const generateNext = { ...plan.detail, token: true, options: seed === undefined ? options : { ...options, seed: stepSeed(seed, index) } };
    const last = input.length - 1;
    const items: ControlledEvaluateInputItem[] = input.map((token, i) => (i === last ? [token, { generateNext }] : token));
    const next = (await seq.controlledEvaluate(items)).at(-1)?.next;
    if (next?.token == null) return undefined;
    const { token, probabilities, confidence, totalLogitWeight } = next;
    const logprob = !plan.logprobs
      ? null
      : probabilities
        ? Math.log(probabilities.get(token) ?? 0)
        : confidence !== undefined
          ? Math.log(confidence)
          : totalLogitWeight !== undefined
            ? -Math.log(totalLogitWeight)
            : null;
    return { token, logprob, probabilities };
  }

  private topTokens(probabilities: Map<Token, number>, n: number, context: Token[]): TokenInfo[] {
    const top: TokenInfo[] = [];
    for (const [id, p] of probabilities) {
      if (top.length >= n) break;
      const special = this.model.isEogToken(id);
      top.push({ id, text: this.model.detokenize([id], special, context), logprob: Math.log(p), special });
    }
    return top;
  }
}

/**
 * The narrowest attention heads that llama.cpp's CPU attention handles well as node-llama-cpp
 * sets it up (flash attention on, an f16 KV cache). Its flash-attention kernel pays off only for
 * wide heads: bench/model-server.ts's prompt rows, one thread, on vs off: the tiny model (8-wide
 * heads) 2.3x as slow over a 1,154-token prompt, Gemma 3 270M (256-wide) 0.74x over 786 tokens.
 * Without it, llama.cpp multiplies every attention score with V in V's type, so an f16 cache
 * converts each score and each query to f16 first: one conversion per score against a dot
 * product as long as the head, which for narrow heads costs more than the dot product (the tiny
 * model evaluated a 1,154-token prompt in ~0.7x the time with an f32 cache; Gemma decoded at
 * half speed with one, under flash attention). Common LLMs have heads of 64 to 256.
 */
const WIDE_HEAD_SIZE = 64;

/** How llama.cpp computes a model's attention. */
export interface AttentionSetup {
  flashAttention: boolean;
  kvCacheType: KvCacheType;
}

/**
 * By head size unless set: wide heads get flash attention over an f16 cache (node-llama-cpp's
 * default), narrow ones (or an unknown size) the plain path over an f32 cache, which doubles the
 * KV cache's memory (small for models with heads that narrow).
 */
export function attentionSetup(
  headSize: number | undefined,
  settings: { flashAttention: FlashAttentionSetting; kvCacheType: KvCacheTypeSetting },
): AttentionSetup {
  const wide = headSize !== undefined && headSize >= WIDE_HEAD_SIZE;
  const flashAttention = settings.flashAttention === 'auto' ? wide : settings.flashAttention;
  const kvCacheType = settings.kvCacheType !== 'auto' ? settings.kvCacheType : wide || flashAttention ? 'f16' : 'f32';
  return { flashAttention, kvCacheType };
}

/** node-llama-cpp's name for each cache type (its option is marked experimental; f16 and f32 are llama.cpp's two plain float caches). */
const KV_CACHE_GGML_TYPE = { f16: 'F16', f32: 'F32' } as const satisfies Record<KvCacheType, string>;

/** Width of one attention head (the key length), from the GGUF's metadata. */
function attentionHeadSize(model: LlamaModel): number | undefined {
  const meta = model.fileInfo.architectureMetadata as { embedding_length?: number; attention?: { key_length?: number; head_count?: number } };
  const { key_length: keyLength, head_count: heads } = meta.attention ?? {};
  if (keyLength) return keyLength;
  return meta.embedding_length && heads ? meta.embedding_length / heads : undefined;
}

/** What every step of one request asks node-llama-cpp for: the same at each step but the seed. */
interface StepPlan {
  logprobs: boolean;
  detail: { probabilities: boolean; confidence: boolean; totalLogitWeight: boolean };
  options: {
    temperature: number;
    topK: number;
    topP: number;
    minP: number;
    seed?: number;
    repeatPenalty?: { punishTokens: Token[]; maxPunishTokens: number; penalty: number; frequencyPenalty: number };
  };
}

/** The request's detail and sampling, once per request; `history` is the live list of prompt and generated tokens. */
function stepPlan(req: GenerationRequest & ReportedDetail, history: Token[]): StepPlan {
  const greedy = req.sampling === undefined;
  const top = req.topN > 0;
  const penalise = req.repetitionPenalty !== 1 || req.frequencyPenalty !== 0;
  return {
    logprobs: req.logprobs,
    detail: { probabilities: top, confidence: req.logprobs && !top && !greedy, totalLogitWeight: req.logprobs && !top && greedy },
    options: {
      temperature: req.sampling?.temperature ?? 0,
      topK: req.sampling?.topK ?? 0,
      topP: req.sampling?.topP ?? 1,
      minP: 0,
      seed: req.sampling?.seed,
      repeatPenalty: penalise
        ? {
            punishTokens: history,
            maxPunishTokens: req.input.length + req.maxNewTokens,
            penalty: req.repetitionPenalty,
            frequencyPenalty: req.frequencyPenalty,
          }
        : undefined,
    },
  };
}

/** A step's sampling seed: a function of the request's seed and the step, so a seeded request replays exactly (mixed by the golden ratio, so neighbouring steps' generators do not start alike). */
function stepSeed(seed: number, step: number): number {
  return (seed ^ Math.imul(step + 1, 0x9e3779b9)) >>> 0;
}
