import { Client, Connection } from '@temporalio/client';
import { resolveTemporalAddress, resolveUiUrl } from '../infra/discovery';
import type { Settings } from '../infra/settings';

/** A Temporal client for the configured (or embedded) server, with a clear error when none answers. */
export async function connectClient(settings: Settings): Promise<{ client: Client; close(): Promise<void> }> {
  const address = resolveTemporalAddress(settings);
  let connection: Connection;
  try {
    connection = await Connection.connect({ address, connectTimeout: '5s' });
  } catch (e) {
    throw new Error(
      `cannot reach Temporal at ${address} (${(e as Error).message}); start \`npx dst-synth dev\` or set TEMPORAL_ADDRESS`,
    );
  }
  const client = new Client({ connection, namespace: settings.TEMPORAL_NAMESPACE });
  return { client, close: () => connection.close() };
}

/** Web UI link of a workflow. */
export function workflowUiUrl(settings: Settings, workflowId: string): string {
  const ui = resolveUiUrl(settings);
  return `${ui}/namespaces/${settings.TEMPORAL_NAMESPACE}/workflows/${encodeURIComponent(workflowId)}`;
}
