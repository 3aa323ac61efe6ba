/**
 * A real S3 API server on loopback for tests: s3rver (npm) in a temp directory, behind a small proxy.
 *
 * s3rver 3.7.1 implements CreateMultipartUpload, UploadPart and CompleteMultipartUpload, but not
 * AbortMultipartUpload (DELETE ?uploadId → 405) nor ListMultipartUploads (GET ?uploads → NotImplemented),
 * both of which the tests need (lib-storage aborts failed uploads; the tests check nothing is left pending).
 * The proxy adds those two operations on s3rver's own on-disk upload state (`<dir>/<bucket>/._S3rver_uploads/
 * <uploadId>/key`), and forwards everything else unchanged (signatures stay valid: the Host header is kept).
 * It also injects faults: `failUploadsAfter(n)` cuts the client connection once n request-body bytes of
 * PUT requests have passed, until `clearFault()`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { StoreConfig } from '../../src/storage/types.js';

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverCtor = new (options: Record<string, unknown>) => S3rverInstance;

const require = createRequire(import.meta.url);

export const S3_TEST_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface PendingUpload {
  key: string;
  uploadId: string;
}

export interface S3TestServer {
  /** The proxy's URL: give this to clients. */
  endpoint: string;
  bucket: string;
  region: string;
  directory: string;
  /** StoreConfig for createObjectStore, pointing at this server. */
  storeConfig(extra?: Partial<StoreConfig>): StoreConfig;
  /** Cut every PUT connection once `bytes` request-body bytes have passed (counted from now), until cleared. */
  /** Cut upload connections once `bytes` body bytes have passed (counted from now); `once`: only the first. */
  failUploadsAfter(bytes: number, opts?: { once?: boolean }): void;
  clearFault(): void;
  /** Connections cut by the fault so far. */
  readonly faultsTriggered: number;
  /** Multipart uploads initiated and neither completed nor aborted, read from s3rver's directory. */
  pendingUploads(): Promise<PendingUpload[]>;
  stop(): Promise<void>;
}

export async function startS3Server(opts: { bucket?: string } = {}): Promise<S3TestServer> {
  const bucket = opts.bucket ?? 'backups';
  const directory = await mkdtemp(path.join(os.tmpdir(), 's3rver-'));
  const S3rver = require('s3rver') as S3rverCtor;
  const inner = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
  const innerAddress = await inner.run();
  const uploadsDir = path.join(directory, bucket, '._S3rver_uploads');

  let faultAfter: number | undefined;
  let faultBytes = 0;
  let faultsTriggered = 0;
  let faultOnce = false;

  const pendingUploads = async (): Promise<PendingUpload[]> => {
    let ids: string[];
    try {
      ids = await readdir(uploadsDir);
    } catch {
      return [];
    }
    const out: PendingUpload[] = [];
    for (const uploadId of ids.sort()) {
      const key = await readFile(path.join(uploadsDir, uploadId, 'key'), 'utf8').catch(() => undefined);
      if (key !== undefined) out.push({ key, uploadId });
    }
    return out;
  };

  const xml = (res: http.ServerResponse, status: number, body: string): void => {
    res.writeHead(status, { 'content-type': 'application/xml' });
    res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
  };
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

  const proxy = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const segments = url.pathname.split('/').filter((s) => s !== '');
    const isBucket = segments.length === 1 && decodeURIComponent(segments[0] ?? '') === bucket;
    const isObject = segments.length > 1 && decodeURIComponent(segments[0] ?? '') === bucket;

    if (req.method === 'GET' && isBucket && url.searchParams.has('uploads')) {
      const prefix = url.searchParams.get('prefix') ?? '';
      void (async () => {
        const uploads = (await pendingUploads()).filter((u) => u.key.startsWith(prefix));
        const items = await Promise.all(
          uploads.map(async (u) => {
            const st = await stat(path.join(uploadsDir, u.uploadId)).catch(() => undefined);
            return `<Upload><Key>${esc(u.key)}</Key><UploadId>${u.uploadId}</UploadId><Initiated>${(st?.mtime ?? new Date()).toISOString()}</Initiated><StorageClass>STANDARD</StorageClass></Upload>`;
          }),
        );
        xml(
          res,
          200,
          `<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>${esc(bucket)}</Bucket><Prefix>${esc(prefix)}</Prefix><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>${items.join('')}</ListMultipartUploadsResult>`,
        );
      })();
      return;
    }

    if (req.method === 'DELETE' && isObject && url.searchParams.has('uploadId')) {
      const uploadId = url.searchParams.get('uploadId') ?? '';
      void (async () => {
        req.resume();
        const dir = path.join(uploadsDir, path.basename(uploadId));
        const exists = uploadId !== '' && (await stat(path.join(dir, 'key')).catch(() => undefined)) !== undefined;
        if (!exists) {
          xml(res, 404, `<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message><UploadId>${esc(uploadId)}</UploadId></Error>`);
          return;
        }
        await rm(dir, { recursive: true, force: true });
        res.writeHead(204);
        res.end();
      })();
      return;
    }

    const upstream = http.request(
      { host: '127.0.0.1', port: innerAddress.port, method: req.method, path: req.url, headers: req.headers },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.destroy();
    });
    req.on('data', (chunk: Buffer) => {
      if (faultAfter !== undefined && req.method === 'PUT') {
        faultBytes += chunk.length;
        if (faultBytes > faultAfter) {
          faultsTriggered += 1;
          if (faultOnce) faultAfter = undefined;
          upstream.destroy();
          req.socket.destroy();
          return;
        }
      }
      if (!upstream.write(chunk)) {
        req.pause();
        upstream.once('drain', () => req.resume());
      }
    });
    req.on('end', () => upstream.end());
    req.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  const region = 'us-east-1';

  return {
    endpoint,
    bucket,
    region,
    directory,
    storeConfig: (extra = {}) => ({ provider: 'aws', bucket, region, endpoint, forcePathStyle: true, credentials: { ...S3_TEST_CREDENTIALS }, ...extra }),
    failUploadsAfter(bytes: number, opts: { once?: boolean } = {}) {
      faultAfter = bytes;
      faultBytes = 0;
      faultOnce = opts.once ?? false;
    },
    clearFault() {
      faultAfter = undefined;
      faultBytes = 0;
    },
    get faultsTriggered() {
      return faultsTriggered;
    },
    pendingUploads,
    async stop() {
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      await inner.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
