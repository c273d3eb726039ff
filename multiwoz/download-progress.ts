/** A cli-progress bar for `downloadFile` / `downloadRelease` progress callbacks. */
import cliProgress from 'cli-progress';
import type { ByteProgress } from './download';

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

export interface ProgressBarOptions {
  /** Where the bar is drawn. Default: `process.stderr` (keeps stdout clean for data). */
  stream?: NodeJS.WritableStream;
  /** Draw even when `stream` is not a TTY (CI logs). Default: false. */
  noTTYOutput?: boolean;
}

/**
 * One bar, restarted for each file. Pass `onProgress` to the downloader and call `stop()`
 * when it returns or throws.
 */
export function createDownloadProgressBar(opts: ProgressBarOptions = {}) {
  const bar = new cliProgress.SingleBar(
    {
      stream: opts.stream ?? process.stderr,
      noTTYOutput: opts.noTTYOutput ?? false,
      hideCursor: true,
      format: (options, params, payload: { label: string; sizes: string }) => {
        const width = options.barsize ?? 30;
        const filled = Math.round(params.progress * width);
        const shown =
          params.total > 0 ? `${'█'.repeat(filled)}${'░'.repeat(width - filled)}` : '…'.padEnd(width);
        return `${payload.label} ${shown} ${payload.sizes}`;
      },
    },
    cliProgress.Presets.shades_classic,
  );
  let current: string | undefined;
  return {
    onProgress(p: ByteProgress & { file?: string; index?: number; count?: number }): void {
      const label = p.file
        ? `${p.index !== undefined && p.count ? `[${p.index + 1}/${p.count}] ` : ''}${p.file}`
        : 'download';
      const sizes = p.total !== undefined ? `${mb(p.done)}/${mb(p.total)} MB` : `${mb(p.done)} MB`;
      if (current !== label) {
        if (current !== undefined) bar.stop();
        current = label;
        bar.start(p.total ?? 0, p.done, { label, sizes });
      } else {
        if (p.total !== undefined) bar.setTotal(p.total);
        bar.update(p.done, { label, sizes });
      }
    },
    stop(): void {
      if (current !== undefined) bar.stop();
      current = undefined;
    },
  };
}
