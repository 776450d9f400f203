// alexnet-ts's public API: `import { Model, train, … } from 'alexnet-ts'`. Everything the CLI does
// is one of these calls; nothing a user needs lives behind a deep import.
//
//   const model = await Model.import('alexnet-owt.pth', 'torchvision');
//   const [top] = await model.predict(['cat.jpg'], { top: 3 });
//   const logits = await model.run(x); // x: [N, 3, 224, 224]
export { Model, Ensemble } from './api/model.js';
export type {
  ArrayInput,
  BackendOptions,
  CreateOptions,
  LoadOptions,
  PrecisionOptions,
  PredictOptions,
  RunOptions,
} from './api/model.js';
export { evaluate, openDataset, train } from './api/train.js';
export type { DatasetOptions, EvaluateOptions, TrainOptions, TrainRun } from './api/train.js';

export { selectBackend } from './backend/index.js';
export type { BackendId } from './backend/index.js';
export type { Backend } from './backend/backend.js';

export type { Dataset, Split } from './data/dataset.js';
export { imageToInput, type DecodedImage, type ImageInput } from './data/image.js';
export {
  PREPROCESS_PRESET_NAMES,
  PREPROCESS_PRESETS,
  RESAMPLE_FILTERS,
  preprocessPreset,
  type Preprocess,
  type PreprocessPresetName,
  type ResampleFilter,
} from './data/presets.js';
export type { ViewMode } from './data/views.js';

export type { ClassScore } from './eval/classify.js';
export type { EvalReport } from './eval/evaluate.js';
export { nearestNeighbors, type Neighbor } from './eval/retrieval.js';
export { softmaxRows } from './eval/softmax.js';

export { IMPORT_FORMATS, type ImportFormat } from './interop/import.js';
export { IMAGENET_CLASSES } from './interop/imagenet-classes.js';
export {
  ARCHS,
  defaultConfig,
  type Arch,
  type ModelConfig,
  type ModelMeta,
} from './models/config.js';
export { INIT_SCHEMES, type InitScheme } from './models/init.js';
export type { Net } from './nn/net.js';
export { PRECISIONS, type Precision } from './nn/precision.js';

export { Tensor } from './tensor/tensor.js';
export { readNpy, writeNpy } from './tensor/npy.js';
export type { EpochRecord } from './train/metrics.js';
export {
  PRESET_NAMES as TRAINING_PRESET_NAMES,
  preset as trainingPreset,
  type TrainConfig,
} from './train/presets.js';
export type { StepInfo } from './train/progress.js';
export { UsageError } from './util/errors.js';
