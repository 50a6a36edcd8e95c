// Which SageMaker inference images the local cloud can stand in for. The pool reads the image
// URI of a model's PrimaryContainer; the container process then speaks that family's
// request/response formats. A family that is listed but not `supported` fails with a reason
// instead of being mistaken for an unknown image.

export type ImageFamilyName = 'tgi' | 'lmi';

export interface ImageFamily {
  name: ImageFamilyName;
  title: string;
  /** Substrings of ECR repository names that identify the family (AWS DLC and upstream names). */
  imageMarkers: readonly string[];
  supported: boolean;
}

export const IMAGE_FAMILIES: readonly ImageFamily[] = [
  {
    name: 'tgi',
    title: 'Hugging Face Text Generation Inference (TGI)',
    imageMarkers: ['huggingface-pytorch-tgi-inference', 'text-generation-inference', 'tgi-inference'],
    supported: true,
  },
  {
    name: 'lmi',
    title: 'Large Model Inference (LMI, DJL Serving)',
    imageMarkers: ['djl-inference', 'djl-lmi', 'djl-serving'],
    supported: false,
  },
];

export function isImageFamilyName(name: string): name is ImageFamilyName {
  return IMAGE_FAMILIES.some((f) => f.name === name);
}

export function imageFamilyOf(image: string): ImageFamily | undefined {
  const repository = image.toLowerCase();
  return IMAGE_FAMILIES.find((f) => f.imageMarkers.some((marker) => repository.includes(marker)));
}

/** One sentence naming what can run locally, for failure reasons. */
export function describeSupportedImages(): string {
  const supported = IMAGE_FAMILIES.filter((f) => f.supported);
  return `The local cloud stands in for ${supported
    .map((f) => `${f.title} images (repository names containing ${f.imageMarkers.map((m) => `'${m}'`).join(' or ')})`)
    .join('; ')}.`;
}
