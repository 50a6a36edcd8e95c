// Which prompt shape makes the local answer model (Gemma 3 270M base, installed by
// `npm run setup`) state a fact from a retrieved passage, and how fast it generates on this
// machine. Greedy decoding, a few short questions over the sample corpus, each given the passage
// that holds the answer plus two that do not (as top-3 retrieval would). Prints figures,
// asserts nothing.
//   npx tsx bench/answer-model.ts
//   BENCH_ANSWER_MODEL=<gguf>  BENCH_ANSWER_THREADS=2  BENCH_ANSWER_TOKENS=32
//   BENCH_ANSWER_POSITION=first|middle (where the passage holding the answer is among the three)
//   BENCH_ANSWER_SHAPES='context/question/answer,...' (only these prompt shapes)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getLlama, LlamaCompletion, LlamaLogLevel } from 'node-llama-cpp';
import { projectRoot } from '../common/project-paths.js';
import { integer, list, oneOf, text, variableGroup } from '../common/config.js';

const settings = variableGroup('bench/answer-model.ts', {
  BENCH_ANSWER_MODEL: text('GGUF file of the answer model (default Gemma 3 270M from ./models)'),
  BENCH_ANSWER_THREADS: integer('Threads of the model', { min: 1, default: '2' }),
  BENCH_ANSWER_TOKENS: integer('Tokens generated per answer', { min: 1, default: '32' }),
  BENCH_ANSWER_POSITION: oneOf(['first', 'middle'], 'Where the passage holding the answer is among the three', { default: 'first' }),
  BENCH_ANSWER_SHAPES: list('Only these prompt shapes, e.g. context/question/answer'),
}).read();
const MODEL = settings.BENCH_ANSWER_MODEL ?? join(projectRoot, 'models/google/gemma-3-270m/gemma-3-270m-q4_k_m.gguf');
const THREADS = settings.BENCH_ANSWER_THREADS;
const MAX_TOKENS = settings.BENCH_ANSWER_TOKENS;
const POSITION = settings.BENCH_ANSWER_POSITION;

const corpus = join(projectRoot, 'examples/corpus');
const paragraphs = [
  ...['sagemaker-autoscaling.md', 'batch-transform.md', 'tgi-container.md'].flatMap((f) =>
    readFileSync(join(corpus, f), 'utf8')
      .split(/\n\s*\n/)
      .filter((p) => !p.startsWith('#'))
      .map((p) => p.replace(/\s+/g, ' ').trim()),
  ),
  ...readFileSync(join(corpus, 'faq.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { text: string }).text),
];
const holding = (needle: string) => {
  const p = paragraphs.find((x) => x.includes(needle));
  if (!p) throw new Error(`no corpus paragraph holds '${needle}'`);
  return p;
};

/** Question, the words an answer must contain (any one, case-insensitive), the passage holding them. */
const CASES = [
  {
    q: 'Which metric does the usual target-tracking policy of a SageMaker endpoint use?',
    expect: ['InvocationsPerInstance'],
    passage: holding('SageMakerVariantInvocationsPerInstance'),
  },
  { q: 'What does DescribeEndpoint return when an endpoint ends in the Failed status?', expect: ['FailureReason'], passage: holding('FailureReason') },
  { q: 'Which environment variable sets the model of the TGI container?', expect: ['HF_MODEL_ID'], passage: holding('HF_MODEL_ID') },
  { q: 'How is the output object of a batch transform named?', expect: ['.out'], passage: holding('<input>.out') },
  { q: 'What is the most common source of surprise costs?', expect: ['idle endpoint'], passage: holding('surprise costs') },
].map((c, i) => ({ ...c, distractors: paragraphs.filter((p) => p !== c.passage).slice(i, i + 2) }));

type Shape = (question: string, passages: string[]) => string;
const SHAPES: Record<string, Shape> = {
  // The RAG prompt today (the reference design's, written for instruction-tuned models).
  'reference (instruct)': (q, ps) =>
    `You are a content creator. Write what the user asked you to while using the provided context as the primary source of information for the content.\nUser query: ${q}\nContext: ${ps.join('\n')}\n`,
  'context/question/answer': (q, ps) => `Context: ${ps.join('\n')}\n\nQuestion: ${q}\nAnswer:`,
  'question / context / question again': (q, ps) => `Question: ${q}\n\nContext: ${ps.join('\n')}\n\nQuestion: ${q}\nAnswer:`,
  'instruction + context/question/answer': (q, ps) =>
    `Answer the question with the words of the context.\n\nContext: ${ps.join('\n')}\n\nQuestion: ${q}\nAnswer:`,
  'numbered sources + instruction': (q, ps) =>
    `Answer the question in one sentence using only the sources below.\n\n${ps.map((p, i) => `Source ${i + 1}: ${p}`).join('\n\n')}\n\nQuestion: ${q}\nAnswer:`,
  'one worked example first': (q, ps) =>
    `Context: Amazon S3 stores objects in buckets. Each object is identified by a key.\nQuestion: What identifies an object in S3?\nAnswer: A key identifies each object in its bucket.\n\n` +
    `Context: ${ps.join('\n')}\nQuestion: ${q}\nAnswer:`,
  'gemma turn markers': (q, ps) =>
    `<start_of_turn>user\nUse the context to answer the question.\n\nContext: ${ps.join('\n')}\n\nQuestion: ${q}<end_of_turn>\n<start_of_turn>model\n`,
};

async function main(): Promise<void> {
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  const loadStart = performance.now();
  const model = await llama.loadModel({ modelPath: MODEL });
  const context = await model.createContext({ threads: THREADS, contextSize: 2048, sequences: 1 });
  console.log(
    `model: ${MODEL}\nload: ${((performance.now() - loadStart) / 1000).toFixed(2)} s, threads ${THREADS}, ${MAX_TOKENS} tokens max, greedy, answer passage ${POSITION}`,
  );
  const sequence = context.getSequence();
  const completion = new LlamaCompletion({ contextSequence: sequence });

  const only = settings.BENCH_ANSWER_SHAPES;
  for (const [name, shape] of Object.entries(SHAPES).filter(([n]) => !only || only.includes(n))) {
    let hits = 0;
    let promptTokens = 0;
    let generatedTokens = 0;
    let promptMs = 0;
    let genMs = 0;
    console.log(`\n== ${name}`);
    for (const c of CASES) {
      // Retrieval ranks the answer first when it works; 'middle' shows what a weaker ranking costs.
      const passages = POSITION === 'first' ? [c.passage, ...c.distractors] : [c.distractors[0], c.passage, c.distractors[1]];
      const prompt = shape(c.q, passages);
      await sequence.clearHistory();
      const t0 = performance.now();
      let first = 0;
      let tokens = 0;
      const text = await completion.generateCompletion(prompt, {
        maxTokens: MAX_TOKENS,
        temperature: 0,
        // A base model keeps going (a new question, the same sentence again): one line is the answer.
        customStopTriggers: ['\n', 'Question:', '<end_of_turn>'],
        onToken: (t) => {
          if (tokens === 0) first = performance.now();
          tokens += t.length;
        },
      });
      const end = performance.now();
      promptTokens += model.tokenize(prompt).length;
      promptMs += (first || end) - t0;
      generatedTokens += Math.max(0, tokens - 1);
      genMs += first ? end - first : 0;
      const ok = c.expect.some((e) => text.toLowerCase().includes(e.toLowerCase()));
      if (ok) hits += 1;
      console.log(`  ${ok ? 'ok  ' : 'MISS'} ${c.q}\n       → ${JSON.stringify(text.trim())}`);
    }
    console.log(
      `  ${hits}/${CASES.length} state the fact; prompt ${(promptTokens / (promptMs / 1000)).toFixed(0)} tok/s, generation ${(generatedTokens / (genMs / 1000)).toFixed(1)} tok/s`,
    );
  }
  await context.dispose();
  await model.dispose();
}

await main();
