import { textTable } from '../../common/text-table';

test('first column left-aligned, the others right-aligned, two spaces apart', () => {
  expect(
    textTable([
      ['role', 'calls', 's/call'],
      ['user', '12', '0.50'],
      ['labeller', '3', '12.25'],
    ]),
  ).toBe(['role      calls  s/call', 'user         12    0.50', 'labeller      3   12.25'].join('\n'));
});

test('a short row ends early; no rows, no text', () => {
  expect(textTable([['a', 'bb'], ['ccc']])).toBe('a    bb\nccc');
  expect(textTable([])).toBe('');
});
