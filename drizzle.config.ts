import { defineConfig } from 'drizzle-kit';

// Only `generate` is used (no live database needed); migrations are applied by db/migrate.ts.
export default defineConfig({
  dialect: 'postgresql',
  schema: './db/schema.ts',
  out: './db/migrations',
});
