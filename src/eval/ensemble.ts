// Ensembles (paper §6: the 5- and 7-CNN results average the softmax outputs of several models):
// loading the members and checking that they can be averaged at all.
import type { Backend } from '../backend/backend.js';
import { loadModel, type LoadedModel } from '../models/checkpoint.js';
import { usage } from '../util/errors.js';

/** Loads the model files; every member must share the first one's input shape and classes. */
export function loadEnsemble(paths: string[], backend: Backend, arch?: string): LoadedModel[] {
  if (paths.length === 0) usage('an ensemble needs at least one model file');
  const models = paths.map((p) => loadModel(p, { backend, arch }));
  const c0 = models[0].meta.config;
  models.forEach((m, i) => {
    const c = m.meta.config;
    if (c.inputSize !== c0.inputSize || c.channels !== c0.channels || c.classes !== c0.classes) {
      usage(
        `${paths[i]}: ${c.classes} classes at ${c.channels}×${c.inputSize}² does not match ${paths[0]} (${c0.classes} classes at ${c0.channels}×${c0.inputSize}²)`,
      );
    }
  });
  return models;
}
