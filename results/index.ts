export { captureProvenance, sameCode, ProvenanceSchema, type Provenance } from './provenance.js';
export { canonicalJson, configFingerprint } from './fingerprint.js';
export {
  RESULT_RECORD_FORMAT,
  ResultRecordSchema,
  codeLabel,
  distinctCode,
  readResultRecord,
  recordCommit,
  resultRecord,
  writeResultRecord,
  type ResultRecord,
} from './record.js';
export { ResultRecordError } from './errors.js';
