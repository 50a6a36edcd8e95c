// The request formats an endpoint's container can speak, and which one an image URI implies.
// One table for the client (activities/generation.ts builds and parses each format) and for the
// local cloud (local/model-server/image-family.ts picks the container to stand in for from the
// same image markers). Workflow-safe: no I/O.
import { z } from 'zod';

/**
 * `tgi`: TGI's `{"inputs","parameters"}`; `tgi-messages`: TGI's Messages API (OpenAI chat);
 * `vllm-completions` / `vllm-chat`: the OpenAI `/v1/completions` / `/v1/chat/completions` bodies
 * that vLLM's SageMaker entrypoint routes by shape; `lmi`: DJL LMI's `{"inputs","parameters"}`;
 * `lmi-chat`: LMI's chat completions schema. The chat formats send `messages`, which the
 * container renders with the model's chat template.
 */
export const CONTAINER_FORMATS = ['tgi', 'tgi-messages', 'vllm-completions', 'vllm-chat', 'lmi', 'lmi-chat'] as const;
export type ContainerFormat = (typeof CONTAINER_FORMATS)[number];
export const containerFormatSchema = z.enum(CONTAINER_FORMATS);

export const CHAT_FORMATS: readonly ContainerFormat[] = ['tgi-messages', 'vllm-chat', 'lmi-chat'];
export const isChatFormat = (format: ContainerFormat): boolean => CHAT_FORMATS.includes(format);

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/**
 * A prompt string, or a conversation for the chat formats (a string goes as one user message).
 * Here rather than with the request builders because workflow results (the RAG prompt) carry it.
 */
export type GenerationPrompt = string | ChatMessage[];

export type ImageFamilyName = 'tgi' | 'vllm' | 'lmi';

/**
 * Substrings of ECR repository names that identify each family (AWS DLC and upstream names), in
 * the order they are tried: LMI's `djl-inference` images run vLLM inside but speak LMI's API.
 */
export const IMAGE_FAMILY_MARKERS: ReadonlyArray<{ family: ImageFamilyName; markers: readonly string[]; defaultFormat: ContainerFormat }> = [
  { family: 'tgi', markers: ['huggingface-pytorch-tgi-inference', 'text-generation-inference', 'tgi-inference'], defaultFormat: 'tgi' },
  { family: 'lmi', markers: ['djl-inference', 'djl-lmi', 'djl-serving'], defaultFormat: 'lmi' },
  { family: 'vllm', markers: ['huggingface-vllm', 'vllm'], defaultFormat: 'vllm-completions' },
];

export function imageFamilyNameOf(image: string): ImageFamilyName | undefined {
  const repository = image.toLowerCase();
  return IMAGE_FAMILY_MARKERS.find((f) => f.markers.some((m) => repository.includes(m)))?.family;
}

/**
 * The format to talk to a model in: the deploy input's `format`, else the completion-style format
 * of its image family (it works with any model, with or without a chat template), else TGI's.
 */
export function containerFormatOf(model: { image: string; format?: ContainerFormat }): ContainerFormat {
  if (model.format) return model.format;
  const family = imageFamilyNameOf(model.image);
  return IMAGE_FAMILY_MARKERS.find((f) => f.family === family)?.defaultFormat ?? 'tgi';
}
