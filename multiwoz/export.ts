/**
 * Writers for the two public MultiWOZ layouts, so generated (or re-labelled) dialogues can
 * be fed to any MultiWOZ tool and read back by `loadDataset`:
 *
 * - 2.2 (`toMultiwoz22`): lossless for everything `Dialogue` holds except `goal`, which
 *   2.2 has no place for. Requested slots come back grouped by service (frame order).
 * - 2.1/2.4 `data.json` (`toDataJson`): keeps utterances, states and `goal`, but only the
 *   first value of each slot (the layout holds one string per slot), and drops
 *   `activeIntents`/`requestedSlots`. A dialogue that ends on a user turn gets a trailing
 *   system entry with empty text carrying the final state, because only system entries
 *   hold states there; loading it back yields the same user turns plus that empty
 *   system turn.
 *
 * Dialogue ids get the `.json` suffix the official files use (`PMUL4648.json`), which both
 * loaders strip again.
 */
import { copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { multiwozDir } from './paths';
import { canonicalSlot, slotDomain } from './slots';
import { SPEAKER, type Dialogue, type DialogueState, type Speaker, type Split, type Turn } from './types';

export type ExportLayout = 'multiwoz22' | 'data-json';
export const EXPORT_LAYOUTS: readonly ExportLayout[] = ['multiwoz22', 'data-json'];

/** Dialogues per 2.2 `dialogues_NNN.json` file, as in the official release. */
export const DIALOGUES_PER_FILE = 100;

/** 2.2 folder name used when the dialogues belong to no official split. */
export const GENERATED_FOLDER = 'generated';

export interface Multiwoz22Frame {
  /** Always empty: 2.2 keeps dialogue acts in a separate `dialog_acts.json`. */
  actions: [];
  service: string;
  /** Span annotations; we have none. */
  slots: [];
  /** User turns only. */
  state?: { active_intent: string; requested_slots: string[]; slot_values: DialogueState };
}

export interface Multiwoz22Turn {
  turn_id: string;
  speaker: Speaker;
  utterance: string;
  frames: Multiwoz22Frame[];
}

export interface Multiwoz22Dialogue {
  dialogue_id: string;
  services: string[];
  turns: Multiwoz22Turn[];
}

/** The id as the official files spell it. */
function fileId(id: string): string {
  return id.endsWith('.json') ? id : `${id}.json`;
}

const domainOf = (slot: string) => slotDomain(canonicalSlot(slot));

// Both layouts pair turns by position; anything else would be written out of place.
function checkTurns(d: Dialogue): void {
  if (!d.turns.length) throw new Error(`dialogue ${d.id}: no turns to export`);
  d.turns.forEach((t, i) => {
    const expected = i % 2 === 0 ? SPEAKER.USER : SPEAKER.SYSTEM;
    if (t.speaker !== expected)
      throw new Error(
        `dialogue ${d.id}: turns[${i}] is ${t.speaker}, expected ${expected} (turns must alternate, user first)`,
      );
  });
}

/** `d.services`, then any other domain a user turn mentions, so no slot loses its frame. */
function servicesOf(d: Dialogue): string[] {
  const seen = new Set(d.services);
  for (const t of d.turns) {
    for (const slot of Object.keys(t.state ?? {})) seen.add(domainOf(slot));
    for (const service of Object.keys(t.activeIntents ?? {})) seen.add(service);
    for (const slot of t.requestedSlots ?? []) seen.add(domainOf(slot));
  }
  return [...seen];
}

function userFrame(turn: Turn, service: string): Multiwoz22Frame {
  const slotValues: DialogueState = {};
  for (const [slot, values] of Object.entries(turn.state ?? {})) {
    if (values.length && domainOf(slot) === service) slotValues[canonicalSlot(slot)] = [...values];
  }
  return {
    actions: [],
    service,
    slots: [],
    state: {
      active_intent: turn.activeIntents?.[service] ?? 'NONE',
      requested_slots: (turn.requestedSlots ?? []).filter((s) => domainOf(s) === service).map(canonicalSlot),
      slot_values: slotValues,
    },
  };
}

function turn22(turn: Turn, index: number, services: readonly string[]): Multiwoz22Turn {
  const user = turn.speaker === SPEAKER.USER;
  return {
    turn_id: String(index),
    speaker: turn.speaker,
    utterance: turn.utterance,
    frames: services.map((s) => (user ? userFrame(turn, s) : { actions: [], service: s, slots: [] })),
  };
}

/**
 * Dialogues in the MultiWOZ 2.2 layout (one `dialogues_NNN.json` array). Every user turn
 * gets a frame per service, with `active_intent` `"NONE"` where none is known.
 * @throws Error when a dialogue has no turns or its turns do not alternate user/system.
 */
export function toMultiwoz22(dialogues: readonly Dialogue[]): Multiwoz22Dialogue[] {
  return dialogues.map((d) => {
    checkTurns(d);
    const services = servicesOf(d);
    return {
      dialogue_id: fileId(d.id),
      services,
      turns: d.turns.map((t, i) => turn22(t, i, services)),
    };
  });
}

interface DomainFields {
  semi: readonly string[];
  book: readonly string[];
}

// The 2.1 release's metadata fields per domain, in its spelling and order; every system
// entry lists these seven domains. `bus` appears only in a few dialogues, so it is written
// only when the state uses it.
const DOMAIN_FIELDS: Readonly<Record<string, DomainFields>> = {
  taxi: { semi: ['leaveAt', 'destination', 'departure', 'arriveBy'], book: [] },
  police: { semi: [], book: [] },
  restaurant: { semi: ['food', 'pricerange', 'name', 'area'], book: ['time', 'day', 'people'] },
  hospital: { semi: ['department'], book: [] },
  hotel: {
    semi: ['name', 'area', 'parking', 'pricerange', 'stars', 'internet', 'type'],
    book: ['stay', 'day', 'people'],
  },
  attraction: { semi: ['type', 'name', 'area'], book: [] },
  train: { semi: ['leaveAt', 'destination', 'day', 'arriveBy', 'departure'], book: ['people'] },
};
const ALWAYS_DOMAINS = Object.keys(DOMAIN_FIELDS);
const EXTRA_FIELDS: Readonly<Record<string, DomainFields>> = {
  bus: DOMAIN_FIELDS.train ?? { semi: [], book: [] },
};

interface DomainMeta {
  book: { booked: unknown[]; [slot: string]: string | unknown[] };
  semi: Record<string, string>;
}

/**
 * Where a canonical slot goes in 2.1 metadata: the inverse of the data.json loader, which
 * reads `semi[k]` as `domain-k` and `book[k]` as `domain-bookk` (canonicalised).
 */
function rawField(
  domain: string,
  slot: string,
  fields: DomainFields,
): { part: 'semi' | 'book'; key: string } {
  const semi = fields.semi.find((k) => canonicalSlot(`${domain}-${k}`) === slot);
  if (semi) return { part: 'semi', key: semi };
  const book = fields.book.find((k) => canonicalSlot(`${domain}-book${k}`) === slot);
  if (book) return { part: 'book', key: book };
  const name = slot.slice(domain.length + 1);
  return name.startsWith('book') ? { part: 'book', key: name.slice(4) } : { part: 'semi', key: name };
}

function domainMeta(domain: string, values: ReadonlyMap<string, string> | undefined): DomainMeta {
  const fields = DOMAIN_FIELDS[domain] ?? EXTRA_FIELDS[domain] ?? { semi: [], book: [] };
  // The release writes "" for untouched domains and "not mentioned" inside active ones.
  const unset = values?.size ? 'not mentioned' : '';
  const meta: DomainMeta = {
    book: { booked: [], ...Object.fromEntries(fields.book.map((k) => [k, ''])) },
    semi: Object.fromEntries(fields.semi.map((k) => [k, unset])),
  };
  for (const [slot, value] of values ?? []) {
    const { part, key } = rawField(domain, slot, fields);
    meta[part][key] = value;
  }
  return meta;
}

/** 2.1 metadata for a state: first value of each slot, every standard domain present. */
function metadataFor(state: DialogueState): Record<string, DomainMeta> {
  const byDomain = new Map<string, Map<string, string>>();
  for (const [raw, values] of Object.entries(state)) {
    const first = values[0];
    if (first === undefined) continue;
    const slot = canonicalSlot(raw);
    const domain = slotDomain(slot);
    byDomain.set(domain, (byDomain.get(domain) ?? new Map<string, string>()).set(slot, first));
  }
  const domains = [...ALWAYS_DOMAINS, ...[...byDomain.keys()].filter((d) => !ALWAYS_DOMAINS.includes(d))];
  return Object.fromEntries(domains.map((d) => [d, domainMeta(d, byDomain.get(d))]));
}

function logEntry(text: string, metadata: Record<string, DomainMeta> | Record<string, never>) {
  return { text, metadata, dialog_act: {}, span_info: [] };
}

function logOf(d: Dialogue): ReturnType<typeof logEntry>[] {
  const log: ReturnType<typeof logEntry>[] = [];
  for (let i = 0; i < d.turns.length; i += 2) {
    const user = d.turns[i];
    if (!user) break;
    log.push(logEntry(user.utterance, {}));
    // Missing only after a final user turn: an empty system entry carries its state.
    log.push(logEntry(d.turns[i + 1]?.utterance ?? '', metadataFor(user.state ?? {})));
  }
  return log;
}

/**
 * Dialogues in the MultiWOZ 2.1/2.4 `data.json` layout, keyed `"<id>.json"`. Only the first
 * value of each slot is kept; `goal` defaults to `{}`.
 * @throws Error on turns that do not alternate user/system, or on a repeated dialogue id.
 */
export function toDataJson(dialogues: readonly Dialogue[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const d of dialogues) {
    checkTurns(d);
    const key = fileId(d.id);
    if (key in out) throw new Error(`dialogue ${d.id} appears twice; data.json keys must be unique`);
    out[key] = { goal: d.goal ?? {}, log: logOf(d) };
  }
  return out;
}

export interface WriteExportOptions {
  dialogues: readonly Dialogue[];
  /** Created when missing. */
  outDir: string;
  /** Layouts to write. Default: both (`EXPORT_LAYOUTS`). */
  layouts?: readonly ExportLayout[];
  /**
   * Split the dialogues form: names the 2.2 folder and fills the data.json list files.
   * Default: none, written to `multiwoz22/generated/`, and counted as train by data.json
   * readers (listed in neither `testListFile.json` nor `valListFile.json`).
   */
  split?: Split;
}

const CHUNK_FILE = /^dialogues_\d+\.json$/;

async function writeText(file: string, text: string): Promise<string> {
  await writeFile(file, text);
  return file;
}

const writeJson = (file: string, data: unknown) => writeText(file, `${JSON.stringify(data, null, 2)}\n`);

/** `outDir/multiwoz22/{<split>|generated}/dialogues_NNN.json` + `outDir/multiwoz22/schema.json`. */
async function write22(all: Multiwoz22Dialogue[], outDir: string, split?: Split): Promise<string[]> {
  const root = path.join(outDir, 'multiwoz22');
  const dir = path.join(root, split ?? GENERATED_FOLDER);
  await mkdir(dir, { recursive: true });
  // Chunks left by a larger earlier export would be loaded along with the new ones.
  for (const name of await readdir(dir)) if (CHUNK_FILE.test(name)) await rm(path.join(dir, name));
  const files: string[] = [];
  for (let i = 0; i < all.length; i += DIALOGUES_PER_FILE) {
    const name = `dialogues_${String(i / DIALOGUES_PER_FILE + 1).padStart(3, '0')}.json`;
    files.push(await writeJson(path.join(dir, name), all.slice(i, i + DIALOGUES_PER_FILE)));
  }
  const schema = path.join(root, 'schema.json');
  await copyFile(path.join(multiwozDir(), '2.2/schema.json'), schema);
  return [...files, schema];
}

/** `outDir/data.json` + the two list files a split-selecting reader needs (one id per line). */
async function writeDataJson(
  data: Record<string, unknown>,
  outDir: string,
  split?: Split,
): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const list = (s: Split) =>
    split === s
      ? Object.keys(data)
          .map((id) => `${id}\n`)
          .join('')
      : '';
  return [
    await writeJson(path.join(outDir, 'data.json'), data),
    await writeText(path.join(outDir, 'testListFile.json'), list('test')),
    await writeText(path.join(outDir, 'valListFile.json'), list('dev')),
  ];
}

/**
 * Write `dialogues` under `outDir` in the chosen layouts: the 2.2 release shape
 * (`multiwoz22/<split>/dialogues_NNN.json`, 100 per file, plus `schema.json`) and/or the
 * 2.1/2.4 shape (`data.json`, `testListFile.json`, `valListFile.json`). Existing
 * `dialogues_NNN.json` files in the target 2.2 folder are replaced.
 * @returns the files written.
 * @throws Error (before anything is written) when a dialogue cannot be exported; see
 *   `toMultiwoz22` and `toDataJson`.
 */
export async function writeExport(opts: WriteExportOptions): Promise<string[]> {
  const { dialogues, outDir, layouts = EXPORT_LAYOUTS, split } = opts;
  // Convert first so a bad dialogue leaves earlier exports untouched.
  const v22 = layouts.includes('multiwoz22') ? toMultiwoz22(dialogues) : undefined;
  const v21 = layouts.includes('data-json') ? toDataJson(dialogues) : undefined;
  const files: string[] = [];
  if (v22) files.push(...(await write22(v22, outDir, split)));
  if (v21) files.push(...(await writeDataJson(v21, outDir, split)));
  return files;
}
