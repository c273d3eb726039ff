/**
 * A block of status lines that updates in place on a terminal; on a pipe or file, one line
 * per change, at most one every `minIntervalMs` (a new step is printed at once), so logs of
 * long runs stay readable.
 */

export interface OutputStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface LiveOutputOptions {
  stream?: OutputStream;
  now?: () => number;
  /** Non-TTY: least time between two printed lines of one step. Default 5 s. */
  minIntervalMs?: number;
}

const ERASE_LINE_UP = '\x1b[1A\x1b[2K';

export class LiveOutput {
  private readonly stream: OutputStream;
  private readonly now: () => number;
  private readonly minIntervalMs: number;
  /** TTY: lines of the block on screen now. */
  private shown: string[] = [];
  private key?: string;
  private lastChange?: string;
  private lastAt = -Infinity;

  constructor(opts: LiveOutputOptions = {}) {
    this.stream = opts.stream ?? process.stdout;
    this.now = opts.now ?? Date.now;
    this.minIntervalMs = opts.minIntervalMs ?? 5_000;
  }

  get isTTY(): boolean {
    return !!this.stream.isTTY;
  }

  /**
   * Shows `lines` for `key` (the step); a new key leaves the previous block on screen. On a
   * pipe, only a new `change` (default: the text) is printed, so numbers derived from the
   * clock alone (rates) do not print a line each. `final`: a step's last numbers, printed on a
   * pipe whatever the interval.
   */
  show(key: string, lines: string[], change?: string, opts: { final?: boolean } = {}): void {
    const newKey = key !== this.key;
    this.key = key;
    if (this.isTTY) {
      if (newKey) this.shown = [];
      this.redraw(lines);
      return;
    }
    const text = lines.map((l) => l.trim()).join(' | ');
    const what = change ?? text;
    const now = this.now();
    const early = !newKey && !opts.final && now - this.lastAt < this.minIntervalMs;
    if (what === this.lastChange || early) return;
    this.stream.write(text + '\n');
    this.lastChange = what;
    this.lastAt = now;
  }

  /** A message that stays (above the live block on a terminal). */
  say(message: string): void {
    const block = this.shown;
    this.erase();
    this.stream.write(message + '\n');
    if (block.length) this.redraw(block);
  }

  /** Removes the live block (TTY) so a question or the final summary starts on a clean line. */
  erase(): void {
    if (this.isTTY) this.stream.write(ERASE_LINE_UP.repeat(this.shown.length));
    this.shown = [];
  }

  /** Leaves the block on screen as it is and forgets it. */
  done(): void {
    this.shown = [];
    this.key = undefined;
  }

  private redraw(lines: string[]): void {
    const width = Math.max(20, (this.stream.columns ?? 120) - 1);
    const fitted = lines.map((l) => (l.length > width ? l.slice(0, width - 1) + '…' : l));
    this.stream.write(ERASE_LINE_UP.repeat(this.shown.length) + fitted.map((l) => l + '\n').join(''));
    this.shown = fitted;
  }
}
