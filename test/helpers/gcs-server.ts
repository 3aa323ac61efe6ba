/**
 * A GCS JSON API endpoint on loopback for tests: the subset @google-cloud/storage uses for the object store.
 *
 * - resumable upload: POST /upload/storage/v1/b/<bucket>/o?uploadType=resumable&name=<n> → 200 with a session
 *   URI in `Location`; PUT <session> with `Content-Range: bytes a-b/<total|*>` (chunks; 308 + `Range` until the
 *   total is known and reached), `bytes a-*\/*` (one streamed request, final at its end) or `bytes *\/<total|*>`
 *   (status query); DELETE <session> cancels (499). The object appears only when the last byte arrives.
 * - simple uploads: POST ...?uploadType=media&name=<n> (raw body) and ?uploadType=multipart (multipart/related).
 * - GET /storage/v1/b/<bucket>/o/<name> (metadata), ?alt=media (bytes, with x-goog-hash), GET /storage/v1/b/<bucket>/o
 *   ?prefix=&pageToken=&maxResults= (list, paged), DELETE /storage/v1/b/<bucket>/o/<name>.
 * Objects live in a temp directory. `failUploadsAfter(n)` cuts every upload connection once n body bytes have
 * passed (counted from the call) until `clearFault()`.
 */
import { CRC32C } from '@google-cloud/storage';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { StoreConfig } from '../../src/storage/types.js';

export interface GcsTestServer {
  endpoint: string;
  bucket: string;
  directory: string;
  storeConfig(extra?: Partial<StoreConfig>): StoreConfig;
  /** Cut upload connections once `bytes` body bytes have passed (counted from now); `once`: only the first. */
  failUploadsAfter(bytes: number, opts?: { once?: boolean }): void;
  clearFault(): void;
  readonly faultsTriggered: number;
  /** Resumable sessions created and neither finished nor cancelled. */
  openSessions(): number;
  stop(): Promise<void>;
}

interface StoredObject {
  name: string;
  file: string;
  size: number;
  md5: string;
  crc32c: string;
  generation: string;
  contentType: string;
  created: Date;
}

interface Session {
  id: string;
  bucket: string;
  name: string;
  contentType: string;
  file: string;
  received: number;
}

export async function startGcsServer(opts: { bucket?: string } = {}): Promise<GcsTestServer> {
  const bucket = opts.bucket ?? 'backups';
  const directory = await mkdtemp(path.join(os.tmpdir(), 'gcs-test-'));
  await mkdir(path.join(directory, 'objects'));
  await mkdir(path.join(directory, 'sessions'));
  const objects = new Map<string, StoredObject>();
  const sessions = new Map<string, Session>();
  let faultAfter: number | undefined;
  let faultBytes = 0;
  let faultsTriggered = 0;
  let faultOnce = false;
  let generation = 1_700_000_000_000_000;
  let endpoint = '';

  const json = (res: http.ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const fail = (res: http.ServerResponse, status: number, message: string): void =>
    json(res, status, { error: { code: status, message, errors: [{ message, reason: status === 404 ? 'notFound' : 'invalid' }] } });

  const resource = (o: StoredObject): Record<string, unknown> => ({
    kind: 'storage#object',
    id: `${bucket}/${o.name}/${o.generation}`,
    selfLink: `${endpoint}/storage/v1/b/${bucket}/o/${encodeURIComponent(o.name)}`,
    mediaLink: `${endpoint}/storage/v1/b/${bucket}/o/${encodeURIComponent(o.name)}?alt=media`,
    name: o.name,
    bucket,
    generation: o.generation,
    metageneration: '1',
    contentType: o.contentType,
    storageClass: 'STANDARD',
    size: String(o.size),
    md5Hash: o.md5,
    crc32c: o.crc32c,
    etag: `${o.generation}`,
    timeCreated: o.created.toISOString(),
    updated: o.created.toISOString(),
  });

  /** Moves a complete file into place as the object `name` (atomic: the map is updated after the rename). */
  const finalize = async (name: string, source: string, contentType: string): Promise<StoredObject> => {
    const md5 = createHash('md5');
    const crc = new CRC32C();
    let size = 0;
    for await (const chunk of createReadStream(source)) {
      const buf = chunk as Buffer;
      md5.update(buf);
      crc.update(buf);
      size += buf.length;
    }
    const file = path.join(directory, 'objects', `${randomBytes(8).toString('hex')}`);
    await rename(source, file);
    const old = objects.get(name);
    generation += 1;
    const obj: StoredObject = { name, file, size, md5: md5.digest('base64'), crc32c: crc.toString(), generation: String(generation), contentType, created: new Date() };
    objects.set(name, obj);
    if (old) await rm(old.file, { force: true });
    return obj;
  };

  /** Streams the request body into `file` (append), counting bytes and applying the fault. Resolves with bytes written. */
  const receive = (req: http.IncomingMessage, file: string, flags: 'a' | 'w'): Promise<number> =>
    new Promise((resolve, reject) => {
      const out = createWriteStream(file, { flags });
      let n = 0;
      let cut = false;
      req.on('data', (chunk: Buffer) => {
        if (cut) return;
        if (faultAfter !== undefined) {
          faultBytes += chunk.length;
          if (faultBytes > faultAfter) {
            cut = true;
            faultsTriggered += 1;
            if (faultOnce) faultAfter = undefined;
            req.socket.destroy();
            out.end(() => reject(new Error('fault injected')));
            return;
          }
        }
        n += chunk.length;
        if (!out.write(chunk)) {
          req.pause();
          out.once('drain', () => req.resume());
        }
      });
      req.on('end', () => {
        if (!cut) out.end(() => resolve(n));
      });
      req.on('aborted', () => {
        if (!cut) out.end(() => reject(new Error('client aborted')));
      });
      req.on('error', (err) => {
        if (!cut) out.end(() => reject(err));
      });
    });

  const readAll = async (req: http.IncomingMessage): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };

  const sessionUri = (s: Session): string =>
    `${endpoint}/upload/storage/v1/b/${bucket}/o?uploadType=resumable&name=${encodeURIComponent(s.name)}&upload_id=${s.id}`;

  const handleSessionPut = async (req: http.IncomingMessage, res: http.ServerResponse, s: Session): Promise<void> => {
    const range = req.headers['content-range'] ?? '';
    const status = /^bytes \*\/(\d+|\*)$/.exec(range);
    const incomplete = (): void => {
      const headers: http.OutgoingHttpHeaders = { 'content-length': 0 };
      if (s.received > 0) headers.range = `bytes=0-${s.received - 1}`;
      res.writeHead(308, headers);
      res.end();
    };
    if (status) {
      await readAll(req);
      const total = status[1] === '*' ? undefined : Number(status[1]);
      if (total !== undefined && total === s.received) {
        sessions.delete(s.id);
        json(res, 200, resource(await finalize(s.name, s.file, s.contentType)));
        return;
      }
      incomplete();
      return;
    }
    // The library sends `bytes 0--1/0` for an empty object.
    const m = /^bytes (\d+)-(-1|\d+|\*)\/(\d+|\*)$/.exec(range);
    if (!m) {
      await readAll(req);
      fail(res, 400, `bad Content-Range "${range}"`);
      return;
    }
    const start = Number(m[1]);
    const total = m[3] === '*' ? undefined : Number(m[3]);
    if (start !== s.received) {
      // We only accept contiguous data; the client resumes from our Range header.
      await readAll(req);
      incomplete();
      return;
    }
    let n: number;
    try {
      n = await receive(req, s.file, 'a');
    } catch {
      // Connection cut: keep what arrived (a real server keeps whole persisted chunks; we keep the bytes).
      s.received = (await stat(s.file).catch(() => undefined))?.size ?? 0;
      return;
    }
    s.received += n;
    const streamedToEnd = m[2] === '*' && total === undefined;
    if ((total !== undefined && s.received === total) || streamedToEnd) {
      sessions.delete(s.id);
      json(res, 200, resource(await finalize(s.name, s.file, s.contentType)));
      return;
    }
    incomplete();
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://gcs');
    const p = url.pathname;
    const uploadBase = `/upload/storage/v1/b/${bucket}/o`;
    const objBase = `/storage/v1/b/${bucket}/o`;

    if (p === uploadBase) {
      const uploadId = url.searchParams.get('upload_id');
      if (uploadId !== null) {
        const s = sessions.get(uploadId);
        if (!s) {
          await readAll(req);
          fail(res, 404, 'No such upload session');
          return;
        }
        if (req.method === 'DELETE') {
          sessions.delete(uploadId);
          await rm(s.file, { force: true });
          res.writeHead(499, { 'content-length': 0 });
          res.end();
          return;
        }
        if (req.method === 'PUT') return handleSessionPut(req, res, s);
      }
      if (req.method !== 'POST') return fail(res, 405, 'method not allowed');
      const type = url.searchParams.get('uploadType');
      const nameParam = url.searchParams.get('name');
      if (type === 'resumable') {
        const body = await readAll(req);
        const meta = (body.length > 0 ? JSON.parse(body.toString('utf8')) : {}) as { name?: string; contentType?: string };
        const name = nameParam ?? meta.name;
        if (!name) return fail(res, 400, 'object name required');
        const id = randomBytes(12).toString('hex');
        const file = path.join(directory, 'sessions', id);
        await writeFile(file, '');
        const s: Session = { id, bucket, name, contentType: meta.contentType ?? String(req.headers['x-upload-content-type'] ?? 'application/octet-stream'), file, received: 0 };
        sessions.set(id, s);
        res.writeHead(200, { location: sessionUri(s), 'content-length': 0 });
        res.end();
        return;
      }
      if (type === 'media') {
        if (!nameParam) return fail(res, 400, 'object name required');
        const tmp = path.join(directory, 'sessions', `media-${randomBytes(8).toString('hex')}`);
        try {
          await receive(req, tmp, 'w');
        } catch {
          await rm(tmp, { force: true });
          return;
        }
        json(res, 200, resource(await finalize(nameParam, tmp, String(req.headers['content-type'] ?? 'application/octet-stream'))));
        return;
      }
      if (type === 'multipart') {
        const boundary = /boundary="?([^";]+)"?/.exec(String(req.headers['content-type'] ?? ''))?.[1];
        if (!boundary) return fail(res, 400, 'multipart boundary missing');
        const tmp = path.join(directory, 'sessions', `multipart-${randomBytes(8).toString('hex')}`);
        try {
          await receive(req, tmp, 'w');
        } catch {
          await rm(tmp, { force: true });
          return;
        }
        const body = await readFile(tmp);
        const parts = splitMultipart(body, boundary);
        const metaPart = parts[0];
        const dataPart = parts[1];
        if (!metaPart || !dataPart) return fail(res, 400, 'multipart body needs a metadata part and a media part');
        const meta = JSON.parse(metaPart.body.toString('utf8')) as { name?: string; contentType?: string };
        const name = nameParam ?? meta.name;
        if (!name) return fail(res, 400, 'object name required');
        await writeFile(tmp, dataPart.body);
        json(res, 200, resource(await finalize(name, tmp, meta.contentType ?? dataPart.contentType ?? 'application/octet-stream')));
        return;
      }
      return fail(res, 400, `uploadType ${String(type)} is not supported here`);
    }

    if (p === objBase && req.method === 'GET') {
      const prefix = url.searchParams.get('prefix') ?? '';
      const max = Number(url.searchParams.get('maxResults') ?? 1000) || 1000;
      const after = url.searchParams.get('pageToken') ?? '';
      const names = [...objects.keys()].filter((n) => n.startsWith(prefix) && n > after).sort();
      const page = names.slice(0, max);
      const items = page.map((n) => resource(objects.get(n) as StoredObject));
      json(res, 200, { kind: 'storage#objects', items, ...(names.length > max ? { nextPageToken: page[page.length - 1] } : {}) });
      return;
    }

    if (p.startsWith(`${objBase}/`)) {
      const name = decodeURIComponent(p.slice(objBase.length + 1));
      const obj = objects.get(name);
      if (req.method === 'DELETE') {
        if (!obj) return fail(res, 404, `No such object: ${bucket}/${name}`);
        objects.delete(name);
        await rm(obj.file, { force: true });
        res.writeHead(204);
        res.end();
        return;
      }
      if (req.method === 'GET') {
        if (!obj) return fail(res, 404, `No such object: ${bucket}/${name}`);
        if (url.searchParams.get('alt') !== 'media') return json(res, 200, resource(obj));
        res.writeHead(200, {
          'content-type': obj.contentType,
          'content-length': obj.size,
          'x-goog-hash': `crc32c=${obj.crc32c},md5=${obj.md5}`,
          'x-goog-generation': obj.generation,
          'x-goog-stored-content-length': obj.size,
        });
        createReadStream(obj.file).pipe(res);
        return;
      }
    }
    await readAll(req);
    fail(res, 404, `not implemented here: ${req.method ?? '?'} ${p}`);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) fail(res, 500, err instanceof Error ? err.message : String(err));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    endpoint,
    bucket,
    directory,
    storeConfig: (extra = {}) => ({ provider: 'gcp', bucket, endpoint, credentials: { projectId: 'test-project' }, ...extra }),
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
    openSessions: () => sessions.size,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(directory, { recursive: true, force: true });
    },
  };
}

function splitMultipart(body: Buffer, boundary: string): { contentType?: string; body: Buffer }[] {
  const delim = Buffer.from(`--${boundary}`);
  const parts: { contentType?: string; body: Buffer }[] = [];
  let pos = body.indexOf(delim);
  while (pos !== -1) {
    const start = pos + delim.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const next = body.indexOf(delim, start);
    if (next === -1) break;
    const raw = body.subarray(start + 2, next - 2); // skip CRLF after the delimiter and before the next one
    const sep = raw.indexOf('\r\n\r\n');
    const head = sep === -1 ? '' : raw.subarray(0, sep).toString('utf8');
    const contentType = /content-type:\s*([^\r\n]+)/i.exec(head)?.[1];
    parts.push({ ...(contentType ? { contentType } : {}), body: sep === -1 ? raw : raw.subarray(sep + 4) });
    pos = next;
  }
  return parts;
}
