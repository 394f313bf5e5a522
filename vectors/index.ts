export { readVectors, readIvecs, readNpy, writeNpy, writeFvecs, readArrowVectors, type VectorSet } from './vector-files.js';
export { VectorFileError } from './errors.js';
