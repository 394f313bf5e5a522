export {
  NegativeFilterSchema,
  selectNegatives,
  filterRanked,
  FILTER_RULES,
  type NegativeFilter,
  type FilterRule,
  type SelectedNegative,
  type QuerySelection,
} from './select.js';
export { denseCandidates, bm25Candidates, denseScore, QUERY_BATCH, type ShardCandidates, type Candidate, type CandidateBatch } from './candidates.js';
export { CandidatesWriter, openCandidates, readCandidates, CANDIDATES_FORMAT, type OpenCandidates, type ColumnBatch } from './candidates-file.js';
export {
  mergeCandidates,
  mergePartRange,
  sumAccounts,
  MineAccountSchema,
  type MineAccount,
  type MineQueries,
  type Provenance,
  type QueryRange,
} from './merge.js';
export { NegativesWriter, concatNegativesFiles, readNegativesFile, negativesSchema, NEGATIVES_FORMAT, type NegativeRow } from './negatives-file.js';
export { readQuerySplit, type QuerySplit } from './queries.js';
export { summarizeNegatives, RANK_BUCKETS, type NegativesReport } from './inspect.js';
export { openMinedNegatives, openMinedNegativesFor, type MinedNegativesInput, type MinedNegativeSource } from './training-negatives.js';
export { hasAnswer, dprTokens } from './answers.js';
export { MineInputError, MineInvariantError } from './errors.js';
