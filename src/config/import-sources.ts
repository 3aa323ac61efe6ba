/**
 * Settings of the object-store import sources (`s3://bucket/key`, `gs://bucket/object`), read by the agent's
 * build job (pre-flight) and by `source-feed` (which the indexer starts with the agent's environment).
 *
 * | env | default | meaning |
 * |---|---|---|
 * | `IMPORT_S3_ENDPOINT` | (AWS) | S3-compatible endpoint, e.g. `http://minio:9000` (path-style addressing) |
 * | `IMPORT_S3_REGION` | `AWS_REGION`, `AWS_DEFAULT_REGION`, else `us-east-1` | region of the buckets |
 * | `IMPORT_GCS_ENDPOINT` | (Google) | GCS JSON API endpoint (an emulator or a private endpoint) |
 *
 * Credentials are never settings here: S3 uses the AWS SDK's default chain (AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY, shared files, instance and IRSA roles), GCS application default credentials
 * (GOOGLE_APPLICATION_CREDENTIALS, workload identity).
 */
import { ValidationError } from '../lib/errors.js';
import type { Env } from './source.js';

export interface ImportStoreSettings {
  s3: { endpoint?: string; region: string };
  gcs: { endpoint?: string };
}

function endpointOf(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  if (v === undefined || v === '') return undefined;
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new ValidationError(name, `'${v}' is not a URL: write e.g. http://127.0.0.1:9000`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ValidationError(name, `'${v}' is not an http(s) URL: write e.g. https://storage.example.com`);
  return v;
}

/** Throws ValidationError naming the variable when an endpoint is not an http(s) URL. */
export function loadImportStoreSettings(env: Env): ImportStoreSettings {
  const s3Endpoint = endpointOf(env, 'IMPORT_S3_ENDPOINT');
  const gcsEndpoint = endpointOf(env, 'IMPORT_GCS_ENDPOINT');
  const region = [env['IMPORT_S3_REGION'], env['AWS_REGION'], env['AWS_DEFAULT_REGION']].map((r) => r?.trim()).find((r) => r !== undefined && r !== '') ?? 'us-east-1';
  return {
    s3: s3Endpoint === undefined ? { region } : { endpoint: s3Endpoint, region },
    gcs: gcsEndpoint === undefined ? {} : { endpoint: gcsEndpoint },
  };
}
