/**
 * Serves the built web UI (dist/ui, made by scripts/build-ui.mjs) at `/`: hashed assets with a year-long
 * immutable cache, index.html (never cached) for every other non-/api GET so the UI's own paths
 * (/tables, /query, ...) load on refresh. Static files need no token; the data behind them does (/api).
 * A strict Content-Security-Policy keeps the page from reaching anything but this controller.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import type { Request, Response, NextFunction, Router } from 'express';

/** dist/ui next to dist/src (this file compiles to dist/src/api/ui-static.js) */
export const DEFAULT_UI_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'ui');

const HASHED_ASSET = /^app-[0-9a-f]{10}\.(js|css)$/;

export const UI_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

function securityHeaders(res: Response): void {
  res.set('X-Content-Type-Options', 'nosniff');
  res.set('Referrer-Policy', 'no-referrer');
  res.set('Content-Security-Policy', UI_CONTENT_SECURITY_POLICY);
}

/** The UI router; mount it after the /api routes. Without a built UI, `/` says how to build it. */
export function uiStatic(dir: string = DEFAULT_UI_DIR): Router {
  const router = express.Router();
  const index = path.join(dir, 'index.html');

  router.use(
    express.static(dir, {
      index: false,
      dotfiles: 'ignore',
      fallthrough: true,
      setHeaders: (res, file) => {
        securityHeaders(res as Response);
        res.setHeader('Cache-Control', HASHED_ASSET.test(path.basename(file)) ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    }),
  );

  router.use((req: Request, res: Response, next: NextFunction) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || req.path === '/api' || req.path.startsWith('/api/')) {
      next();
      return;
    }
    // a missing asset is a 404, not the page
    if (/\.(js|css|map|png|svg|ico|woff2?)$/.test(req.path)) {
      next();
      return;
    }
    securityHeaders(res);
    res.set('Cache-Control', 'no-cache');
    if (!existsSync(index)) {
      res.status(404).type('text/plain').send('the web UI is not built: run "npm run build" (scripts/build-ui.mjs)\n');
      return;
    }
    res.sendFile(index);
  });
  return router;
}
