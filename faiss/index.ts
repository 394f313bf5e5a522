export {
  FaissIndex,
  SEARCH_LIMITS,
  setFaissThreads,
  getFaissThreads,
  type CreateIndexOptions,
  type SearchParams,
  type SearchResult,
  type SearchCounters,
} from './faiss-index.js';
export { kmeans, type KmeansOptions } from './kmeans.js';
export { buildDualViewIvf, trainDualViewIvf, addDualView, assignLists, type DualViewIvfOptions, type DualViewIvf } from './dual-view-ivf.js';
export { resolveFactory, parseIvfFactory, isGraphFactory, checkFactoryLimits, FACTORY_LIMITS, type ResolvedFactory } from './factory.js';
export { FaissError, FaissInvalidArgumentError, FaissNotTrainedError, fromNative } from './errors.js';
export type { Metric, IndexKind, NativeIndexInfo, AssignedLists } from './native.js';
export { exactTopK } from './exact-knn.js';
export { measureNprobeCurve, chooseServingNprobe, nprobeGrid, NprobeCurveSchema, type NprobeCurve, type NprobeTuningOptions } from './nprobe-tuning.js';
export { placeLists, type ListPlacement } from './list-placement.js';
