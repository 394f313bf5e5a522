import assert from 'node:assert/strict';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { Validator } from '@seriousme/openapi-schema-validator';

/** Checks a served OpenAPI document with a real validator, then answers against the schemas it documents. */
export class OpenApiCheck {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });

  private constructor(readonly document: { paths: Record<string, Record<string, any>> }) {}

  static async of(document: unknown): Promise<OpenApiCheck> {
    const result = await new Validator().validate(document as Record<string, unknown>);
    assert.ok(result.valid, `the OpenAPI document is invalid: ${JSON.stringify(result.errors)}`);
    return new OpenApiCheck(document as { paths: Record<string, Record<string, any>> });
  }

  /** Every documented (method, path template). */
  routes(): Array<{ method: string; path: string }> {
    return Object.entries(this.document.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })));
  }

  /** The status is documented for the route, and a JSON body matches the documented schema. */
  assertAnswer(method: string, path: string, status: number, body: unknown): void {
    const operation = this.document.paths[path]?.[method.toLowerCase()];
    assert.ok(operation, `${method} ${path} is not documented`);
    const response = operation.responses[String(status)];
    assert.ok(response, `${method} ${path}: status ${status} is not documented (${Object.keys(operation.responses).join(', ')})`);
    const json = response.content?.['application/json']?.schema;
    if (!json || body === undefined) return;
    // A $ref points into the document's components: compiled with them beside it.
    const validate = this.ajv.compile(json.$ref ? { $ref: json.$ref, components: (this.document as { components?: unknown }).components } : json);
    assert.ok(validate(body), `${method} ${path} ${status}: ${this.ajv.errorsText(validate.errors)} in ${JSON.stringify(body).slice(0, 300)}`);
  }
}
