/**
 * Slot-name spelling. MultiWOZ 2.1/2.4 write `hotel-book day`, `train-leaveAt`,
 * `hotel-price range`; 2.2 writes `hotel-bookday`, `train-leaveat`, `hotel-pricerange`.
 * Everything inside dst-synth uses the 2.2 spelling.
 */

/** The standard 30 tracked slots, canonical spelling. */
export const TRACKED_SLOTS = [
  'hotel-area',
  'hotel-bookday',
  'hotel-bookpeople',
  'hotel-bookstay',
  'hotel-internet',
  'hotel-name',
  'hotel-parking',
  'hotel-pricerange',
  'hotel-stars',
  'hotel-type',
  'train-arriveby',
  'train-bookpeople',
  'train-day',
  'train-departure',
  'train-destination',
  'train-leaveat',
  'restaurant-area',
  'restaurant-bookday',
  'restaurant-bookpeople',
  'restaurant-booktime',
  'restaurant-food',
  'restaurant-name',
  'restaurant-pricerange',
  'attraction-area',
  'attraction-name',
  'attraction-type',
  'taxi-arriveby',
  'taxi-departure',
  'taxi-destination',
  'taxi-leaveat',
] as const;
export type TrackedSlot = (typeof TRACKED_SLOTS)[number];

const TRACKED_SET: ReadonlySet<string> = new Set(TRACKED_SLOTS);

/**
 * Canonical `domain-slot` key: lower case, no spaces, `book_`/`book ` prefixes joined,
 * `price range` → `pricerange`. Accepts `hotel-book day`, `hotel-bookday`, `Hotel-Book Day`,
 * `hotel-semi-area` (STAR style is not produced, but tolerated).
 */
export function canonicalSlot(name: string): string {
  const lower = name.trim().toLowerCase();
  const dash = lower.indexOf('-');
  if (dash < 0) return lower.replace(/[\s_]+/g, '');
  const domain = lower.slice(0, dash);
  let slot = lower.slice(dash + 1);
  if (slot.startsWith('semi-')) slot = slot.slice(5);
  if (slot.startsWith('book-')) slot = 'book' + slot.slice(5);
  return `${domain}-${slot.replace(/[\s_]+/g, '')}`;
}

/** True for the 30 slots of the standard set-up. */
export function isTrackedSlot(canonical: string): boolean {
  return TRACKED_SET.has(canonical);
}

/** Domain part of a `domain-slot` key. */
export function slotDomain(canonical: string): string {
  const dash = canonical.indexOf('-');
  return dash < 0 ? canonical : canonical.slice(0, dash);
}
