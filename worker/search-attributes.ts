/**
 * Registers dst-synth's custom search attributes (`workflows/search-attributes.ts`) at worker
 * start, through the operator service. The embedded dev server gets them from its start
 * flags; a real cluster (e.g. docker-compose's `temporalio/auto-setup`) does not know them,
 * and a workflow that upserts an unknown one fails its workflow tasks.
 */
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import type { NativeConnection } from '@temporalio/worker';
import { SA } from '../workflows/search-attributes';

export type SearchAttributeRegistration =
  | { ok: true; added: string[] }
  /** The namespace (or the permissions of this connection) refused: `message` says what to do. */
  | { ok: false; message: string };

/** gRPC status code: another worker added them meanwhile. */
const ALREADY_EXISTS = 6;

const names = () => Object.values(SA).map((k) => k.name);

/** Adds the missing ones (idempotent: several workers may race, each sees them once added). */
export async function ensureSearchAttributes(
  connection: Pick<NativeConnection, 'operatorService'>,
  namespace: string,
): Promise<SearchAttributeRegistration> {
  const op = connection.operatorService;
  try {
    const have = (await op.listSearchAttributes({ namespace })).customAttributes ?? {};
    const missing = Object.values(SA).filter((k) => !(k.name in have));
    if (!missing.length) return { ok: true, added: [] };
    const searchAttributes = Object.fromEntries(
      missing.map((k) => [k.name, encodeSearchAttributeIndexedValueType(k.type)!]),
    );
    try {
      await op.addSearchAttributes({ namespace, searchAttributes });
    } catch (err) {
      if ((err as { code?: number }).code !== ALREADY_EXISTS) throw err;
    }
    return { ok: true, added: missing.map((k) => k.name) };
  } catch (err) {
    const why = (err as Error).message.replace(/^\d+ [A-Z_]+: /, '');
    const cli = Object.values(SA)
      .map((k) => `--name ${k.name} --type ${k.type[0]}${k.type.slice(1).toLowerCase()}`)
      .join(', ');
    return {
      ok: false,
      message:
        `could not register the search attributes ${names().join(', ')} on namespace ` +
        `"${namespace}" (${why}); runs will fail until an operator adds them: ` +
        `temporal operator search-attribute create --namespace ${namespace} ${cli}`,
    };
  }
}
