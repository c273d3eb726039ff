import path from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { downloadRelease } from '../../multiwoz/download';
import { parseOptions } from '../options';
import { progressView } from '../progress';

const DownloadOptions = z.object({
  release: z.enum(['multiwoz22', 'multiwoz24']),
  dest: z.string().min(1),
  baseUrl: z.string().url().optional(),
});

export function registerDownload(program: Command): void {
  program
    .command('download')
    .description('Download an official MultiWOZ release (resumable, size/hash checked); needs internet')
    .requiredOption('--release <name>', 'multiwoz22 | multiwoz24')
    .requiredOption('--dest <dir>', 'folder to write the release into')
    .option('--base-url <url>', 'mirror to download from instead of GitHub')
    .action(async (raw: Record<string, unknown>) => {
      const opts = parseOptions(DownloadOptions, raw);
      const view = progressView(`download ${opts.release}`);
      try {
        const result = await downloadRelease({
          release: opts.release,
          destDir: path.resolve(opts.dest),
          baseUrl: opts.baseUrl,
          onProgress: (p) => view.update(p.done, p.total ?? p.done, `${p.file} (${p.index + 1}/${p.count})`),
        });
        view.stop();
        const fetched = result.files.filter((f) => f.downloaded).length;
        console.log(
          `${opts.release}: ${result.files.length} files in ${result.destDir} (${fetched} downloaded, ${result.files.length - fetched} already verified)`,
        );
      } finally {
        view.stop();
      }
    });
}
