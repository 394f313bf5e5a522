export { readVectors, readIvecs, readNpy, writeNpy, writeFvecs, readArrowVectors, type VectorSet } from './vector-files.js';
export { VectorFileError, MissingVectorColumnError } from './errors.js';
export { halfBits, halfValue, toHalf, fromHalf } from './half.js';
