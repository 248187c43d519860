import type { RequestHandler } from 'express';
import type { Level, Logger } from 'pino';

/**
 * One log line per request when it ends: info, warn for 4xx, error for 5xx and aborted ones.
 * The line is only built when its level is on, so a busy webhook costs nothing at LOG_LEVEL=warn.
 * The path is logged without its query string, which may carry tokens and signatures, and
 * without an unsubscribe link's token, which carries the recipient's address.
 */
export function accessLog(logger: Logger, ignore: (path: string) => boolean): RequestHandler {
  return (req, res, next) => {
    if (ignore(req.path)) return next();
    const started = performance.now();
    res.once('close', () => {
      const aborted = !res.writableFinished;
      const level: Level = aborted || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          req: { method: req.method, path: loggedPath(req.originalUrl), remoteAddress: req.ip },
          res: { statusCode: res.statusCode },
          responseTime: Math.round(performance.now() - started),
        },
        aborted ? 'request aborted' : 'request completed',
      );
    });
    next();
  };
}

function loggedPath(url: string): string {
  return url.split('?')[0]!.replace(/^(\/email\/unsubscribe\/[^/]*\/).+$/, '$1[token]');
}
