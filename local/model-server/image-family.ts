// Which SageMaker inference images the local cloud can stand in for. The pool reads the image
// URI of a model's PrimaryContainer (markers in common/container-format.ts); the container
// process then speaks that family's request/response formats. A family that is listed but not
// `supported` fails with a reason instead of being mistaken for an unknown image.
import { IMAGE_FAMILY_MARKERS, type ImageFamilyName, imageFamilyNameOf } from '../../common/container-format.js';

export type { ImageFamilyName };

export interface ImageFamily {
  name: ImageFamilyName;
  title: string;
  /** Substrings of ECR repository names that identify the family (AWS DLC and upstream names). */
  imageMarkers: readonly string[];
  supported: boolean;
}

const TITLES: Record<ImageFamilyName, string> = {
  tgi: 'Hugging Face Text Generation Inference (TGI)',
  vllm: "vLLM's SageMaker container (OpenAI-compatible API)",
  lmi: 'Large Model Inference (LMI, DJL Serving)',
};

export const IMAGE_FAMILIES: readonly ImageFamily[] = IMAGE_FAMILY_MARKERS.map(({ family, markers }) => ({
  name: family,
  title: TITLES[family],
  imageMarkers: markers,
  supported: true,
}));

export function isImageFamilyName(name: string): name is ImageFamilyName {
  return IMAGE_FAMILIES.some((f) => f.name === name);
}

export function imageFamilyOf(image: string): ImageFamily | undefined {
  const name = imageFamilyNameOf(image);
  return IMAGE_FAMILIES.find((f) => f.name === name);
}

/** One sentence naming what can run locally, for failure reasons. */
export function describeSupportedImages(): string {
  const supported = IMAGE_FAMILIES.filter((f) => f.supported);
  return `The local cloud stands in for ${supported
    .map((f) => `${f.title} images (repository names containing ${f.imageMarkers.map((m) => `'${m}'`).join(' or ')})`)
    .join('; ')}.`;
}
