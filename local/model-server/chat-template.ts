// The model's chat template, as the real containers apply it to `messages`: TGI, vLLM and LMI
// all render the Hugging Face tokenizer's Jinja `chat_template` with add_generation_prompt and
// never invent one. A GGUF file carries that template as `tokenizer.chat_template` when the
// converter kept it; a Hugging Face model directory carries it as `chat_template.jinja` or in
// `tokenizer_config.json`, so those beside the GGUF count too. No template: undefined, and each
// family answers a chat request with its own "no chat template" error.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type ChatHistoryItem, JinjaTemplateChatWrapper, type LlamaModel, SpecialTokensText, type Token } from 'node-llama-cpp';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface RenderedChat {
  /** The prompt as the template wrote it, special tokens included as text. */
  text: string;
  tokens: Token[];
}

/** Where the template came from, for logs and the docs' account of it. */
export type ChatTemplateSource = 'gguf' | 'chat_template.jinja' | 'tokenizer_config.json';

function templateBeside(modelPath: string): { template: string; source: ChatTemplateSource } | undefined {
  const dir = dirname(modelPath);
  const jinja = join(dir, 'chat_template.jinja');
  if (existsSync(jinja)) return { template: readFileSync(jinja, 'utf8'), source: 'chat_template.jinja' };
  const config = join(dir, 'tokenizer_config.json');
  if (existsSync(config)) {
    const template = (JSON.parse(readFileSync(config, 'utf8')) as { chat_template?: unknown }).chat_template;
    if (typeof template === 'string' && template.trim()) return { template, source: 'tokenizer_config.json' };
  }
  return undefined;
}

export class ChatTemplate {
  private constructor(
    private readonly model: LlamaModel,
    private readonly wrapper: JinjaTemplateChatWrapper,
    readonly source: ChatTemplateSource,
  ) {}

  static find(model: LlamaModel, modelPath: string): ChatTemplate | undefined {
    const fromGguf = (model.fileInfo.metadata as { tokenizer?: { chat_template?: unknown } }).tokenizer?.chat_template;
    const found = typeof fromGguf === 'string' && fromGguf.trim() ? { template: fromGguf, source: 'gguf' as const } : templateBeside(modelPath);
    if (!found) return undefined;
    return new ChatTemplate(model, new JinjaTemplateChatWrapper({ template: found.template }), found.source);
  }

  /** The conversation followed by the assistant's turn opening (add_generation_prompt=True). */
  render(messages: readonly ChatMessage[]): RenderedChat {
    const history: ChatHistoryItem[] = messages.map((m) =>
      m.role === 'system'
        ? { type: 'system', text: m.content }
        : m.role === 'user'
          ? { type: 'user', text: m.content }
          : { type: 'model', response: [m.content] },
    );
    history.push({ type: 'model', response: [] });
    const { contextText } = this.wrapper.generateContextState({ chatHistory: history });
    // The text as the template wrote it: a special token such as BOS as the model spells it.
    const text = contextText.values
      .map((v) => (typeof v === 'string' ? v : v instanceof SpecialTokensText ? v.value : this.model.detokenize(v.tokenize(this.model.tokenizer), true)))
      .join('');
    return { text, tokens: contextText.tokenize(this.model.tokenizer) };
  }
}
