export * from './import';
export * from './evaluate';
