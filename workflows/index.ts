export * from './import';
export * from './evaluate';
export * from './generate';
export * from './pipeline';
