import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FieldType } from '../src/schema/point.ts';
import { FieldTypeRegistry } from '../src/mapping/field-types.ts';

type Conflict = [measurement: string, key: string, type: FieldType];

function registry(max?: number): { reg: FieldTypeRegistry; conflicts: Conflict[] } {
  const conflicts: Conflict[] = [];
  const reg = new FieldTypeRegistry((m, k, t) => conflicts.push([m, k, t]), max);
  return { reg, conflicts };
}

test('the first type seen wins; other types go to <key>__<type>', () => {
  const { reg, conflicts } = registry();
  const steps: Array<[type: FieldType, expected: string]> = [
    ['float', 'retries'],
    ['float', 'retries'],
    ['string', 'retries__string'],
    ['boolean', 'retries__boolean'],
    ['float', 'retries'],
    ['string', 'retries__string'],
    ['integer', 'retries__integer'],
  ];
  for (const [i, [type, expected]] of steps.entries()) assert.equal(reg.resolve('spans', 'retries', type), expected, `step ${i}: ${type}`);
  assert.equal(reg.conflicts, 4, 'every diverted value is counted, repeats included');
  assert.deepEqual(conflicts, [
    ['spans', 'retries', 'string'],
    ['spans', 'retries', 'boolean'],
    ['spans', 'retries', 'string'],
    ['spans', 'retries', 'integer'],
  ]);
});

test('a string seen first makes later numbers the divergent ones', () => {
  const { reg, conflicts } = registry();
  assert.equal(reg.resolve('spans', 'http.status_code', 'string'), 'http.status_code');
  assert.equal(reg.resolve('spans', 'http.status_code', 'float'), 'http.status_code__float');
  assert.deepEqual(conflicts, [['spans', 'http.status_code', 'float']]);
});

test('no conflict, no callback', () => {
  const { reg, conflicts } = registry();
  for (const [key, type] of [['a', 'float'], ['b', 'string'], ['c', 'boolean'], ['a', 'float'], ['b', 'string']] as const) {
    assert.equal(reg.resolve('spans', key, type), key);
  }
  assert.equal(reg.conflicts, 0);
  assert.deepEqual(conflicts, []);
});

test('seed() (the database’s own field list) wins over the first value seen', () => {
  const { reg, conflicts } = registry();
  reg.seed('spans', 'user.id', 'string');
  assert.equal(reg.resolve('spans', 'user.id', 'float'), 'user.id__float', 'a float may not take a key the database has as string');
  assert.equal(reg.resolve('spans', 'user.id', 'string'), 'user.id');
  assert.deepEqual(conflicts, [['spans', 'user.id', 'float']]);

  // Seeding after a key was seen also wins: the database is the truth.
  const late = registry();
  assert.equal(late.reg.resolve('spans', 'k', 'float'), 'k');
  late.reg.seed('spans', 'k', 'boolean');
  assert.equal(late.reg.resolve('spans', 'k', 'float'), 'k__float');
  assert.equal(late.reg.resolve('spans', 'k', 'boolean'), 'k');
});

test('measurements are independent', () => {
  const { reg, conflicts } = registry();
  assert.equal(reg.resolve('spans', 'k', 'float'), 'k');
  assert.equal(reg.resolve('other', 'k', 'string'), 'k');
  reg.seed('third', 'k', 'boolean');
  assert.equal(reg.resolve('third', 'k', 'boolean'), 'k');
  assert.equal(reg.resolve('spans', 'k', 'float'), 'k');
  assert.equal(reg.resolve('other', 'k', 'string'), 'k');
  assert.equal(reg.conflicts, 0);
  assert.deepEqual(conflicts, []);
  assert.equal(reg.resolve('other', 'k', 'float'), 'k__float');
  assert.deepEqual(conflicts, [['other', 'k', 'float']]);
});

test('the cap bounds what is tracked per measurement; tracked keys keep their type', () => {
  const { reg, conflicts } = registry(2);
  assert.equal(reg.resolve('spans', 'a', 'float'), 'a');
  assert.equal(reg.resolve('spans', 'b', 'string'), 'b');
  // Full: a new key passes through, but its type is not remembered, so a flip is not diverted.
  assert.equal(reg.resolve('spans', 'c', 'float'), 'c');
  assert.equal(reg.resolve('spans', 'c', 'string'), 'c');
  assert.equal(reg.conflicts, 0);
  // Keys tracked before the cap was reached are still enforced.
  assert.equal(reg.resolve('spans', 'a', 'string'), 'a__string');
  assert.equal(reg.resolve('spans', 'b', 'float'), 'b__float');
  assert.equal(reg.conflicts, 2);
  assert.deepEqual(conflicts, [
    ['spans', 'a', 'string'],
    ['spans', 'b', 'float'],
  ]);
  // The cap is per measurement.
  assert.equal(reg.resolve('other', 'x', 'float'), 'x');
  assert.equal(reg.resolve('other', 'x', 'string'), 'x__string');
});

test(
  'the <key>__<type> key is itself type-checked',
  () => {
    // An attribute literally named `k__string` carried a number first; then `k` flips to a string.
    const { reg } = registry();
    assert.equal(reg.resolve('spans', 'k__string', 'float'), 'k__string');
    assert.equal(reg.resolve('spans', 'k', 'float'), 'k');
    const key = reg.resolve('spans', 'k', 'string');
    // Whatever key it picks, writing a string there must not clash with a key already holding floats.
    assert.notEqual(key, 'k__string');
    assert.notEqual(key, 'k');
  },
);
