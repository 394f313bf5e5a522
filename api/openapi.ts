/** The REST front's OpenAPI 3.0 description (served at GET /v1/openapi.json). */
export function openApiDocument(serverUrl: string): Record<string, unknown> {
  const error = { description: 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  const errors = { 400: error, 401: error, 413: error, 503: error };
  return {
    openapi: '3.0.3',
    info: { title: 'sci-cluster query API', version: '1.0.0', description: 'Scatter-gather search over a sharded index set, query encoding and job status.' },
    servers: [{ url: serverUrl }],
    security: [{ bearer: [] }],
    paths: {
      '/v1/search': {
        post: {
          summary: 'Search every shard and merge the global top-k',
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/SearchRequest' } } } },
          responses: {
            200: {
              description: 'merged results; partial=true names the shards that did not answer',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/SearchResponse' } } },
            },
            ...errors,
          },
        },
      },
      '/v1/encode': {
        post: {
          summary: "Encode texts with the index set's encoder (query or item tower)",
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/EncodeRequest' } } } },
          responses: {
            200: { description: 'vectors', content: { 'application/json': { schema: { $ref: '#/components/schemas/EncodeResponse' } } } },
            ...errors,
          },
        },
      },
      '/v1/jobs/{id}': {
        get: {
          summary: 'A job record',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { 200: { description: 'the job', content: { 'application/json': { schema: { type: 'object' } } } }, 404: error, 401: error },
        },
      },
      '/v1/jobs/{id}/cancel': {
        post: {
          summary: 'Cancel a job: running tasks stop between batches, queued ones never run; it ends cancelled',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            200: { description: 'the job after the cancel', content: { 'application/json': { schema: { type: 'object' } } } },
            404: error,
            409: error,
            401: error,
          },
        },
      },
      '/v1/jobs/{id}/retry': {
        post: {
          summary: 'Retry a failed or cancelled job: only the shards that did not finish run again',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            200: { description: 'the job after the retry', content: { 'application/json': { schema: { type: 'object' } } } },
            404: error,
            409: error,
            401: error,
          },
        },
      },
      '/v1/jobs/{id}/logs': {
        get: {
          summary: "The job and its tasks: state, worker, deliveries and each task's error",
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { 200: { description: '{ job, tasks }', content: { 'application/json': { schema: { type: 'object' } } } }, 404: error, 401: error },
        },
      },
      '/v1/health': { get: { summary: 'Liveness and the served index set', security: [], responses: { 200: { description: 'ok' } } } },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } },
            },
          },
        },
        SearchRequest: {
          type: 'object',
          required: ['index'],
          properties: {
            index: { type: 'string', description: 'index name in the set (flat, hnsw, ivf, …, bm25)' },
            query: { type: 'string' },
            queries: { type: 'array', items: { type: 'string' } },
            vectors: { type: 'array', items: { type: 'array', items: { type: 'number' } } },
            k: { type: 'integer', minimum: 1, default: 10 },
            nprobe: { type: 'integer', minimum: 1 },
            efSearch: { type: 'integer', minimum: 1 },
            deadlineMs: { type: 'integer', minimum: 1, maximum: 60000 },
            hybrid: { type: 'object', properties: { bm25Weight: { type: 'number' }, denseWeight: { type: 'number' } } },
            fields: {
              type: 'array',
              items: { type: 'string', enum: ['title', 'text'] },
              description: "passage columns each hit carries, read from the owning shard's passage file",
            },
          },
        },
        Hit: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            rowId: { type: 'integer' },
            score: { type: 'number' },
            shard: { type: 'integer' },
            title: { type: 'string' },
            text: { type: 'string' },
          },
        },
        SearchResponse: {
          type: 'object',
          properties: {
            partial: { type: 'boolean' },
            missingShards: { type: 'array', items: { type: 'object', properties: { shard: { type: 'integer' }, reason: { type: 'string' } } } },
            results: { type: 'array', items: { type: 'object', properties: { hits: { type: 'array', items: { $ref: '#/components/schemas/Hit' } } } } },
            counters: {
              type: 'object',
              properties: { ndis: { type: 'integer' }, nhops: { type: 'integer' }, nlist: { type: 'integer' }, quantizerDis: { type: 'integer' } },
            },
            ms: { type: 'number' },
          },
        },
        EncodeRequest: {
          type: 'object',
          required: ['texts'],
          properties: { texts: { type: 'array', items: { type: 'string' } }, view: { type: 'string', enum: ['query', 'item'] } },
        },
        EncodeResponse: {
          type: 'object',
          properties: { dim: { type: 'integer' }, view: { type: 'string' }, vectors: { type: 'array', items: { type: 'array', items: { type: 'number' } } } },
        },
      },
    },
  };
}
