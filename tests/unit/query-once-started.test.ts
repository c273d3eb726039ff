import { queryOnceStarted } from '../../client/generation';

describe('queryOnceStarted', () => {
  it('asks again while a just-started run has no query handlers yet', async () => {
    let asked = 0;
    const answer = await queryOnceStarted(
      () => {
        asked += 1;
        if (asked < 3) return Promise.reject(new Error('Workflow did not register a handler for progress.'));
        return Promise.resolve('ok');
      },
      1000,
      1,
    );
    expect(answer).toBe('ok');
    expect(asked).toBe(3);
  });

  it('gives up after its wait, and passes other errors at once', async () => {
    const early = () => Promise.reject(new Error('Workflow did not register a handler for progress.'));
    await expect(queryOnceStarted(early, 5, 1)).rejects.toThrow(/did not register a handler/);
    let asked = 0;
    const other = () => {
      asked += 1;
      return Promise.reject(new Error('workflow not found'));
    };
    await expect(queryOnceStarted(other, 1000, 1)).rejects.toThrow('workflow not found');
    expect(asked).toBe(1);
  });
});
