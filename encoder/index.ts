export { HashedTfidfEncoder, DfCounter, fitModel, saveModel, loadModel, writeDf, readDf, bucketOf, type HashedTfidfModel } from './hashed-tfidf.js';
export { EmbeddingShardWriter, embeddingSchema, EMBEDDING_FORMAT } from './embedding-shards.js';
